"""In a real browser: a failed sign-in, a form with invalid input, the language switch, the case diagram."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveSite


def test_a_failed_sign_in_says_so_and_stays_on_the_sign_in_page(live_site: LiveSite, page: Page) -> None:
    page.goto(f"{live_site.url}/login")
    page.fill("#username", "claims.clerk")
    page.fill("#password", "not-the-password")
    page.click("#login-form button[type=submit]")
    expect(page.locator(".alert-danger")).to_have_text("Wrong user name or password.")
    assert page.url.startswith(f"{live_site.url}/login")
    expect(page.locator("#user-menu")).to_have_count(0)


def test_invalid_input_shows_field_errors_and_keeps_the_values(live_site: LiveSite, page: Page) -> None:
    live_site.sign_in(page, "claims.clerk")
    page.goto(f"{live_site.url}/start/claims")
    page.click("#start-claims button[type=submit]")
    page.fill("#f-policy_number", "PDEMO0001")
    page.fill("#f-claimant_id_number", "12345")
    page.fill("#f-claimed_amount", "a lot")
    page.click("#submit-task")
    expect(page.locator(".alert-danger")).to_contain_text("Please correct the marked fields.")
    expect(page.locator("#err-claimant_id_number")).to_have_text("This is not in the expected format.")
    expect(page.locator("#err-claimed_amount")).to_have_text("Enter a number.")
    expect(page.locator("#err-region")).to_have_text("This field is required.")
    expect(page.locator("#err-policy_number")).to_have_count(0)
    expect(page.locator("#f-policy_number")).to_have_value("PDEMO0001")
    expect(page.locator("#f-claimed_amount")).to_have_value("a lot")
    expect(page.locator("#f-claimant_name")).to_be_focused()  # the first field with a problem (empty)


def test_the_language_switch_turns_the_pages_chinese_and_back(live_site: LiveSite, page: Page) -> None:
    live_site.sign_in(page, "adjuster")
    expect(page.locator("nav")).to_contain_text("Inbox")
    page.click("#language-switch button[value=zh]")
    expect(page.locator("nav")).to_contain_text("待办")
    expect(page.locator("h1")).to_have_text("待办")
    expect(page.locator("#inbox-table")).to_contain_text("核定赔付金额")
    page.reload()
    expect(page.locator("h1")).to_have_text("待办")  # kept in the session
    page.click("#language-switch button[value=en]")
    expect(page.locator("h1")).to_have_text("Inbox")


def test_the_case_diagram_shows_the_path_taken(live_site: LiveSite, page: Page) -> None:
    live_site.sign_in(page, "claims.manager")
    page.locator("#inbox-table a", has_text="Approve payout").click()
    page.click("text=Open the case")
    diagram = page.locator("#diagram.diagram-ready")
    expect(diagram).to_have_count(1)
    expect(diagram.locator("[data-element-id=register_claim].if-done")).to_have_count(1)
    expect(diagram.locator("[data-element-id=approve_payout].if-active")).to_have_count(1)
