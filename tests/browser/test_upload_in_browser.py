"""A claims clerk attaches a scanned PDF while registering a claim in a real browser; the case page lists it
and the clerk can download it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from services.demo.data import demo_identity
from tasks.records import ClaimRecord
from tests.browser.conftest import LiveSite

NAME, ID_NUMBER, _PHONE = demo_identity(0)
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_a_clerk_registers_a_claim_with_a_scanned_invoice_and_the_case_lists_it(
        live_site: LiveSite, page: Page, tmp_path: Path) -> None:
    invoice = tmp_path / "hospital-invoice.pdf"
    invoice.write_bytes(PDF)
    live_site.sign_in(page, "claims.clerk")
    page.click("text=Start work")
    page.click("#start-claims button[type=submit]")
    expect(page.locator("#task-title")).to_have_text("Register claim (first notice of loss)")
    page.fill("#f-policy_number", "PDEMO0001")
    page.fill("#f-claimant_name", NAME)
    page.fill("#f-claimant_id_number", ID_NUMBER)
    page.fill("#f-incident_date", (live_site.wired.runtime.clock() - timedelta(days=3)).date().isoformat())
    page.select_option("#f-claim_type", "hospitalization")
    page.check("input[name=cause_of_loss][value=illness]")
    page.fill("#f-description", "Appendectomy, 4 nights in hospital")
    page.fill("#f-claimed_amount", "68000")
    for kind in ("claim_form", "id_copy", "bank_card", "discharge_summary"):
        page.check(f"input[name=documents][value={kind}]")
    page.fill("#f-payee_account", "6222020200112233445")
    page.select_option("#f-region", "beijing")
    page.select_option("#f-document_files-kind", "medical_invoice")
    page.set_input_files("#f-document_files", str(invoice))
    page.click("#submit-task")

    page.wait_for_url(f"{live_site.url}/")
    done = page.locator(".alert-success")
    expect(done).to_contain_text("is completed for case")
    claim_number = re.search(r"C\d{14}", done.inner_text())
    assert claim_number is not None

    with live_site.wired.runtime.uow() as uow:
        case_id = uow.session.scalar(select(ClaimRecord.instance_id).where(ClaimRecord.number == claim_number[0]))
    page.goto(f"{live_site.url}/cases/{case_id}")
    documents = page.locator("#case-documents")
    expect(documents).to_contain_text("hospital-invoice.pdf")
    expect(documents).to_contain_text("Medical invoice")
    expect(documents).to_contain_text("claims.clerk")
    with page.expect_download() as download:
        documents.locator("a", has_text="hospital-invoice.pdf").click()
    saved = tmp_path / "downloaded.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == PDF and download.value.suggested_filename == "hospital-invoice.pdf"
