"""Finding things in a real browser: the claims clerk finds the policy while reporting a claim and the form
is filled from it; a claims manager finds a policy's cases by its number. The FNOL screenshot is kept under
docs/screenshots/ for README."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveSite

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_the_clerk_finds_the_policy_by_the_holders_name_and_the_report_is_filled(
        live_site: LiveSite, page: Page) -> None:
    live_site.sign_in(page, "claims.clerk")
    page.click("text=Start work")
    page.click("#start-claims button[type=submit]")
    expect(page.locator("#task-title")).to_have_text("Register claim (first notice of loss)")
    page.fill("#f-policy_number-lookup", "Li Hua")
    page.click("#f-policy_number-lookup-button")
    choice = page.locator(".policy-lookup-choice", has_text="PDEMO0001")
    expect(choice).to_be_visible()
    expect(choice).to_contain_text("Li Hua")
    page.fill("#f-description", "Appendectomy, 4 nights in hospital")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.screenshot(path=str(SCREENSHOTS / "fnol-policy-lookup-en.png"), full_page=False)
    choice.click()
    expect(page.locator("#f-policy_number")).to_have_value("PDEMO0001")
    expect(page.locator("#f-claimant_name")).to_have_value("Li Hua 李华")  # the holder, as the claimant

    page.fill("#f-policy_number-lookup", "no such person")
    page.press("#f-policy_number-lookup", "Enter")
    expect(page.locator("#f-policy_number-lookup-results")).to_contain_text("No policy found.")
    expect(page.locator("#f-policy_number")).to_have_value("PDEMO0001")  # nothing lost


def test_a_claims_manager_finds_a_policys_cases_by_its_number(live_site: LiveSite, page: Page) -> None:
    live_site.sign_in(page, "claims.manager")
    page.get_by_role("link", name="Cases").click()
    page.fill("#q", "PDEMO0007")
    page.click("#search-submit")
    rows = page.locator("#case-results tbody tr")
    expect(rows).to_have_count(1)  # the death claim on PDEMO0007 (its sale is no claims manager's business)
    expect(rows.first).to_contain_text("Claims")
    rows.first.locator("a").click()
    expect(page.locator("h1")).to_contain_text("C")
