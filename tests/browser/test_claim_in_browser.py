"""A claim from first notice to payout in a real browser: the clerk registers it, it lands in the
adjuster's inbox, the adjuster assesses it, the claims manager approves, the payout happens and the
customer's status page shows it paid."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Browser, Page, expect

from services.demo.data import demo_identity
from tests.browser.conftest import LiveSite
from tests.e2e.claim_codes import access_code

NAME, ID_NUMBER, _PHONE = demo_identity(0)


def _register_claim(site: LiveSite, page: Page) -> str:
    """Sign in as the claims clerk, register a hospital claim on PDEMO0001; the new claim number."""
    site.sign_in(page, "claims.clerk")
    page.click("text=Start work")
    page.click("#start-claims button[type=submit]")
    expect(page.locator("#task-title")).to_have_text("Register claim (first notice of loss)")
    incident = (site.wired.runtime.clock() - timedelta(days=3)).date().isoformat()
    page.fill("#f-policy_number", "PDEMO0001")
    page.fill("#f-claimant_name", NAME)
    page.fill("#f-claimant_id_number", ID_NUMBER)
    page.fill("#f-incident_date", incident)
    page.select_option("#f-claim_type", "hospitalization")
    page.check("input[name=cause_of_loss][value=illness]")
    page.fill("#f-description", "Appendectomy, 4 nights in hospital")
    page.fill("#f-claimed_amount", "68000")
    documents = page.locator("input[name=documents]")
    for index in range(documents.count()):
        documents.nth(index).check()
    page.fill("#f-payee_account", "6222020200112233445")
    page.select_option("#f-region", "beijing")
    page.click("#submit-task")
    page.wait_for_url(f"{site.url}/")
    done = page.locator(".alert-success")
    expect(done).to_contain_text("is completed for case")
    found = re.search(r"C\d{14}", done.inner_text())
    assert found is not None
    return found[0]


def _open_task_of_case(site: LiveSite, page: Page, claim_number: str, task_name: str) -> None:
    row = page.locator("#inbox-table tbody tr", has_text=claim_number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(task_name)
    row.locator("a", has_text=task_name).click()
    expect(page.locator("#task-title")).to_have_text(task_name)


def test_a_claim_goes_from_first_notice_to_paid_in_the_browser(live_site: LiveSite, browser: Browser,
                                                                page: Page) -> None:
    claim_number = _register_claim(live_site, page)

    adjuster = browser.new_context(locale="en-US").new_page()
    live_site.sign_in(adjuster, "adjuster")
    _open_task_of_case(live_site, adjuster, claim_number, "Assess amount")
    expect(adjuster.locator("#instructions")).to_contain_text("Suggested: 67500.00 CNY")
    expect(adjuster.locator("#case-context")).to_contain_text(f"••••{ID_NUMBER[-4:]}")
    adjuster.check("input[name=decision][value=pay]")
    adjuster.fill("#f-payable_amount", "67500")
    adjuster.fill("#f-note", "covered in full")
    adjuster.click("#submit-task")
    adjuster.wait_for_url(f"{live_site.url}/")
    expect(adjuster.locator(".alert-success")).to_contain_text(claim_number)

    manager = browser.new_context(locale="en-US").new_page()
    live_site.sign_in(manager, "claims.manager")
    _open_task_of_case(live_site, manager, claim_number, "Approve payout")
    expect(manager.locator("#instructions")).to_contain_text("The adjuster assessed 67500")
    manager.check("input[name=approved][value=true]")
    manager.fill("#f-reason", "documents complete")
    manager.click("#submit-task")
    manager.wait_for_url(f"{live_site.url}/")

    manager.goto(f"{live_site.url}/?scope=team")
    expect(manager.locator("#inbox-table tbody tr", has_text=claim_number)).to_have_count(0)

    customer = browser.new_context(locale="en-US").new_page()
    customer.goto(f"{live_site.url}/status")
    customer.fill("#claim_number", claim_number)
    customer.fill("#access_code", access_code(live_site, claim_number))
    customer.click("#status-form button[type=submit]")
    result = customer.locator("#status-result")
    expect(result).to_contain_text(f"Claim {claim_number}")
    expect(result).to_contain_text("Claim registered")
    expect(result.locator(".timeline-item.current")).to_contain_text("Paid")
    expect(customer.locator("body")).not_to_contain_text(NAME)
    for other in (adjuster, manager, customer):
        other.context.close()


def test_a_registered_claim_lands_in_the_adjusters_inbox(live_site: LiveSite, browser: Browser, page: Page) -> None:
    claim_number = _register_claim(live_site, page)
    adjuster = browser.new_context(locale="en-US").new_page()
    live_site.sign_in(adjuster, "adjuster")
    row = adjuster.locator("#inbox-table tbody tr", has_text=claim_number)
    expect(row).to_contain_text("Assess amount")
    # the demo's two claims to assess (an outpatient and a death claim) and this one
    expect(adjuster.locator("[data-count=role]")).to_have_text("3")
    adjuster.context.close()
