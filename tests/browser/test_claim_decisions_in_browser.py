"""Issue 12 tried as a new user would, in a real browser: a named beneficiary is paid her share of a death
benefit; an adjuster alone cannot pay more than was claimed
(the claims manager must approve it, with a reason), and a claim with nothing payable is denied with a coded
reason, a written denial notice to the claimant, and "Rejected" on the customer's status page."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from services.demo.data import demo_identity
from tasks.office_records import NotificationRecord
from tasks.payment_records import PaymentRecord
from tasks.records import ClaimRecord
from tests.browser.conftest import LiveSite
from tests.browser.test_claim_in_browser import _open_task_of_case, _register_claim
from tests.e2e.claim_codes import access_code

NAME, ID_NUMBER, _PHONE = demo_identity(0)


def _claim(site: LiveSite, claim_number: str) -> ClaimRecord:
    with site.wired.runtime.uow() as uow:
        return uow.session.scalar(select(ClaimRecord).where(ClaimRecord.number == claim_number))


def _denial_letters(site: LiveSite) -> list[str]:
    """The channels of the denial notices sent so far, oldest first."""
    with site.wired.runtime.uow() as uow:
        return list(uow.session.scalars(select(NotificationRecord.channel).where(
            NotificationRecord.template == "claim_denied").order_by(NotificationRecord.id)))


def _assess(site: LiveSite, browser: Browser, claim_number: str) -> Page:
    adjuster = browser.new_context(locale="en-US").new_page()
    site.sign_in(adjuster, "adjuster")
    _open_task_of_case(site, adjuster, claim_number, "Assess amount")
    return adjuster


def test_an_adjusters_payment_above_the_claim_waits_for_the_managers_approval_and_reason(
        live_site: LiveSite, browser: Browser, page: Page) -> None:
    claim_number = _register_claim(live_site, page)  # 68,000 claimed
    adjuster = _assess(live_site, browser, claim_number)
    adjuster.check("input[name=decision][value=pay]")
    adjuster.fill("#f-payable_amount", "70000")
    adjuster.fill("#f-note", "rounded up")
    adjuster.click("#submit-task")
    adjuster.wait_for_url(f"{live_site.url}/")

    claim = _claim(live_site, claim_number)
    with live_site.wired.runtime.uow() as uow:  # nothing left the insurer on the adjuster's word alone
        assert list(uow.session.scalars(select(PaymentRecord).where(PaymentRecord.claim_id == claim.id))) == []
    assert claim.status != "paid"

    manager = browser.new_context(locale="en-US").new_page()
    live_site.sign_in(manager, "claims.manager")
    _open_task_of_case(live_site, manager, claim_number, "Approve payout")
    expect(manager.locator("#instructions")).to_contain_text("70000")
    manager.check("input[name=approved][value=false]")
    manager.click("#submit-task")  # a decision without its reason is refused on the page, nothing lost
    expect(manager.locator("#task-title")).to_have_text("Approve payout")
    expect(manager.locator(".invalid-feedback, .text-danger").first).to_be_visible()
    for other in (adjuster, manager):
        other.context.close()


def test_a_claim_with_nothing_payable_is_denied_with_a_written_notice_and_shown_rejected(
        live_site: LiveSite, browser: Browser, page: Page) -> None:
    claim_number = _register_claim(live_site, page)
    letters_before = _denial_letters(live_site)
    adjuster = _assess(live_site, browser, claim_number)
    adjuster.check("input[name=decision][value=deny]")
    adjuster.check("input[name=denial_code][value=below_deductible]")
    adjuster.fill("#f-denial_reason", "The covered loss is within the policy's deductible.")
    adjuster.click("#submit-task")
    adjuster.wait_for_url(f"{live_site.url}/")

    claim = _claim(live_site, claim_number)
    assert claim.status == "rejected" and claim.rejection_reason.startswith("below_deductible:")
    assert _denial_letters(live_site) == letters_before + ["letter"]  # the written notice (拒赔通知书)

    customer = browser.new_context(locale="en-US").new_page()
    customer.goto(f"{live_site.url}/status")
    customer.fill("#claim_number", claim_number)
    customer.fill("#access_code", access_code(live_site, claim_number))
    customer.click("#status-form button[type=submit]")
    expect(customer.locator("#status-result .timeline-item.current")).to_contain_text("Rejected")
    for other in (adjuster, customer):
        other.context.close()


def test_a_named_beneficiary_is_paid_her_share_of_the_death_benefit(live_site: LiveSite, browser: Browser) -> None:
    """The demo's PDEMO0007 names the insured's wife for 60 % of 500,000; she reported his death (the demo leaves
    her claim waiting for the adjuster): assessed, approved by the claims manager, paid, and shown paid to her."""
    with live_site.wired.runtime.uow() as uow:
        claim_number = uow.session.scalar(select(ClaimRecord.number).where(ClaimRecord.claim_type == "death"))
    adjuster = _assess(live_site, browser, claim_number)
    expect(adjuster.locator("#case-context")).not_to_contain_text("Claimant not covered")
    adjuster.check("input[name=decision][value=pay]")
    adjuster.fill("#f-payable_amount", "300000")
    adjuster.fill("#f-note", "the named spouse's 60 % share")
    adjuster.click("#submit-task")
    adjuster.wait_for_url(f"{live_site.url}/")

    manager = browser.new_context(locale="en-US").new_page()
    live_site.sign_in(manager, "claims.manager")
    _open_task_of_case(live_site, manager, claim_number, "Approve payout")
    manager.check("input[name=approved][value=true]")
    manager.fill("#f-reason", "named beneficiary, share checked against the policy")
    manager.click("#submit-task")
    manager.wait_for_url(f"{live_site.url}/")

    assert _claim(live_site, claim_number).status == "paid"
    customer = browser.new_context(locale="en-US").new_page()
    customer.goto(f"{live_site.url}/status")
    customer.fill("#claim_number", claim_number)
    customer.fill("#access_code", access_code(live_site, claim_number))
    customer.click("#status-form button[type=submit]")
    expect(customer.locator("#status-result .timeline-item.current")).to_contain_text("Paid")
    expect(customer.locator("#status-paid")).to_contain_text("300000.00")  # the amount paid, once paid
    for other in (adjuster, manager, customer):
        other.context.close()
