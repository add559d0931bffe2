"""In a real browser: the administrator creates a claims clerk, and the new clerk signs in to their inbox."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveSite

PASSWORD = "a long enough password"


def test_an_admin_creates_a_claims_clerk_who_then_signs_in(live_site: LiveSite, page: Page) -> None:
    live_site.sign_in(page, "admin")
    page.click("nav >> text=Users")
    expect(page.locator("h1")).to_have_text("Users")
    page.click("#new-user")
    page.fill("#username", "clerk.li")
    page.fill("#display_name", "Li Ming 李明")
    page.get_by_label("Claims clerk").check()
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD + "!")  # a typo first: the page says so and keeps the entries
    page.click("#new-user-form button[type=submit]")
    expect(page.locator("#err-confirm")).to_have_text("The two passwords differ.")
    expect(page.locator("#username")).to_have_value("clerk.li")
    expect(page.get_by_label("Claims clerk")).to_be_checked()
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("#new-user-form button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("User clerk.li created.")
    expect(page.locator("#user-title")).to_have_text("clerk.li")
    expect(page.locator("#user-log")).to_contain_text("Created with the roles: Claims clerk")
    page.click("#user-menu")
    page.click("#sign-out")
    expect(page.locator(".alert-info")).to_contain_text("You are signed out.")
    live_site.sign_in(page, "clerk.li", PASSWORD)
    expect(page.locator("h1")).to_have_text("Inbox")
    expect(page.locator("#user-menu")).to_have_text("clerk.li")
    expect(page.locator("nav")).not_to_contain_text("Users")  # a clerk has no administration
