"""An auditor in a real browser: finds a paid claim, steps through it on the deployed diagram, verifies and
replays it, and downloads its report."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveSite
from tests.e2e.test_ui_audit import pay_demo_claim


def _marked(page: Page) -> tuple[list[str], list[str]]:
    diagram = page.locator("#audit-diagram")
    return json.loads(diagram.get_attribute("data-done")), json.loads(diagram.get_attribute("data-active"))


def test_an_auditor_steps_through_a_paid_claim_checks_it_and_downloads_the_report(live_site: LiveSite,
                                                                                 page: Page) -> None:
    case, claim_number = pay_demo_claim(live_site)
    live_site.sign_in(page, "auditor")
    page.click("nav >> text=Audit")
    page.fill("#search-key", claim_number)
    page.click("#search-submit")
    page.click(f"#audit-results >> text={claim_number}")
    page.wait_for_url(f"{live_site.url}/audit/cases/{case}")
    expect(page.locator("#audit-diagram.diagram-ready")).to_be_visible()
    expect(page.locator("#step-label")).to_have_text("Step 5 of 5")

    done, active = _marked(page)
    assert {"register_claim", "assess_amount", "approve_payout", "svc_pay_claim"} <= set(done) and active == []
    highlighted = page.locator("#audit-diagram .djs-element.if-done")
    assert highlighted.count() == len(done)

    page.locator("#step-slider").fill("1")  # the claim just started: nothing passed, registration waits
    expect(page.locator("#step-label")).to_have_text("Step 1 of 5")
    assert _marked(page)[1] == ["register_claim"] and "register_claim" not in _marked(page)[0]
    expect(page.locator("#audit-diagram .djs-element.if-active")).to_have_count(1)
    assert highlighted.count() < len(done)
    expect(page.locator('.step-panel[data-step="1"]')).to_be_visible()
    expect(page.locator('.step-panel[data-step="5"]')).to_be_hidden()

    page.click("#step-next")
    expect(page.locator("#step-label")).to_have_text("Step 2 of 5")
    assert _marked(page)[1] == ["assess_amount"] and "register_claim" in _marked(page)[0]
    page.locator("h1").click()  # the arrows move the slider from anywhere on the page but a form field
    page.keyboard.press("ArrowRight")
    expect(page.locator("#step-label")).to_have_text("Step 3 of 5")
    assert _marked(page)[1] == ["approve_payout"]
    expect(page.locator('.step-panel[data-step="3"]')).to_contain_text("¥59,500.00")

    page.click("#verify-chain")
    expect(page.locator("#verify-result")).to_contain_text("The history is intact")
    page.click("#replay")
    expect(page.locator("#replay-result")).to_contain_text("all 5 steps give exactly the recorded state")

    with page.expect_download() as download:
        page.click("#export-pdf")
    assert download.value.suggested_filename == f"case-{case}-audit-report.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
