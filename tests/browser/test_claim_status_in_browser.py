"""The claimant's status page in a real browser (issue 13, finding 7): the access code from the acknowledgement
opens the claim (the ID number's last 4 characters no longer do), the claimant says the documents were sent and
the clerk sees it on the task; wrong codes close the look-up and the page says to call."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tasks.records import ClaimRecord
from tests.browser.conftest import LiveSite
from tests.browser.test_claim_in_browser import _open_task_of_case
from tests.e2e.claim_codes import access_code, wrong


def _waiting_for_documents(site: LiveSite) -> ClaimRecord:
    with site.wired.runtime.uow() as uow:
        claim = uow.session.scalar(select(ClaimRecord).where(ClaimRecord.status == "documents_requested"))
    assert claim is not None, "the demo leaves a claim waiting for documents"
    return claim


def _look_up(page: Page, site: LiveSite, number: str, code: str) -> None:
    page.goto(f"{site.url}/status")
    page.fill("#claim_number", number)
    page.fill("#access_code", code)
    page.click("#status-form button[type=submit]")


def test_the_claimant_follows_the_claim_with_the_code_and_says_the_documents_were_sent(
        live_site: LiveSite, browser: Browser) -> None:
    claim = _waiting_for_documents(live_site)
    code = access_code(live_site, claim)
    customer = browser.new_context(locale="en-US").new_page()
    _look_up(customer, live_site, claim.number, claim.check_code)
    expect(customer.locator("#status-refused")).to_be_visible()

    _look_up(customer, live_site, claim.number.lower(), code)
    expect(customer.locator("#status-result")).to_contain_text(f"Claim {claim.number}")
    expect(customer.locator("#status-result .timeline-item.current")).to_contain_text("Documents requested")
    assert "?" not in customer.url  # nothing in the address bar, nor in any access log
    customer.fill("#documents-sent-form [name=access_code]", code)
    customer.fill("#documents-sent-form [name=note]", "Photos posted today by EMS.")
    customer.click("#documents-sent-form button[type=submit]")
    expect(customer.locator("#documents-sent-received")).to_be_visible()
    expect(customer.locator("#documents-sent-form")).to_have_count(0)

    clerk = browser.new_context(locale="en-US").new_page()
    live_site.sign_in(clerk, "claims.clerk")
    _open_task_of_case(live_site, clerk, claim.number, "Request missing documents")
    expect(clerk.locator("#claimant-note-1")).to_contain_text("Photos posted today by EMS.")
    expect(clerk.locator("#claimant-note-1")).to_contain_text("documents were sent")
    for other in (customer, clerk):
        other.context.close()


def test_five_wrong_codes_close_the_look_up_and_the_page_says_to_call(live_site: LiveSite, browser: Browser) -> None:
    claim = _waiting_for_documents(live_site)
    code = access_code(live_site, claim)
    customer = browser.new_context(locale="en-US").new_page()
    for _ in range(4):
        _look_up(customer, live_site, claim.number, wrong(code))
        expect(customer.locator("#status-refused")).to_be_visible()
    _look_up(customer, live_site, claim.number, wrong(code))
    expect(customer.locator("#status-locked")).to_contain_text("please call")
    _look_up(customer, live_site, claim.number, code)
    expect(customer.locator("#status-locked")).to_be_visible()
    expect(customer.locator("#status-result")).to_have_count(0)
    customer.context.close()
