"""The case page as a case file in a real browser: its section headings in the claims order, and a long value
in the timeline opened with "show more" (a <details> element: by mouse and by keyboard, no script)."""

from __future__ import annotations

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from engine.workflow.models import HumanTaskModel
from tests.browser.conftest import LiveSite


def _claim_awaiting_approval(site: LiveSite) -> int:
    with site.wired.runtime.uow() as uow:
        return uow.session.scalar(select(HumanTaskModel.instance_id).where(
            HumanTaskModel.task_key == "approve_payout", HumanTaskModel.status == "open").order_by(HumanTaskModel.id))


def test_the_case_file_shows_its_sections_and_opens_a_long_value(live_site: LiveSite, browser: Browser) -> None:
    case_id = _claim_awaiting_approval(live_site)
    for locale, headings in (("en-US", ["Claim details", "Policy", "Claimant", "Assessment", "Payment"]),
                             ("zh-CN", ["理赔信息", "保单", "索赔人", "理算", "支付"])):
        page = browser.new_context(locale=locale, viewport={"width": 1440, "height": 900}).new_page()
        live_site.sign_in(page, "claims.manager")
        page.goto(f"{live_site.url}/cases/{case_id}")
        expect(page.locator("#case-data .case-section-title")).to_have_text(headings)
        page.context.close()

    page = browser.new_context(locale="en-US", viewport={"width": 1440, "height": 900}).new_page()
    live_site.sign_in(page, "claims.manager")
    page.goto(f"{live_site.url}/cases/{case_id}")
    long_value = page.locator("#timeline details.show-more").first  # the approval-limit rule's long text
    expect(long_value.locator(".show-more-preview")).to_be_visible()
    expect(long_value.locator(".show-more-full")).to_be_hidden()
    long_value.locator("summary").click()
    expect(long_value.locator(".show-more-full")).to_be_visible()
    expect(long_value.locator(".show-more-full")).to_contain_text("the claims director above")
    expect(long_value.locator(".show-more-preview")).to_be_hidden()
    expect(long_value.locator(".show-more-close")).to_have_text("show less")
    expect(long_value.locator(".show-more-close")).to_be_visible()
    expect(long_value.locator(".show-more-open")).to_be_hidden()
    long_value.locator("summary").focus()
    page.keyboard.press("Enter")  # a summary is a button: the keyboard closes it again
    expect(long_value.locator(".show-more-full")).to_be_hidden()
    expect(long_value.locator(".show-more-open")).to_be_visible()
    page.context.close()
