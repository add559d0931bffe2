"""Issue 12, the sale's controls: what happens to the money, who decides, and what the customer is told.

- Item 4: the premium is held in suspense until AML screening (or two compliance officers) clear it; a refusal
  files a suspicious-transaction report and refunds the premium to the account it came from, with a failure
  path to finance; the customer's notice never mentions the review (tipping-off).
- Item 14 (sales): the quote step has a withdrawal and a 30-day lapse.
- Item 15 (sales): the policy-issued notice states the receipt date; cooling-off counts from it.
- Item 16 (sales): an AML decision and an unsuitable sale's approval each need a second compliance officer.
- Item 18: an agent takes at most the cash cap of cash_limits.dmn per contract; a payer's cash of 50,000 a day
  or more is reported as a large transaction.

Every scenario runs the real diagrams, tables and handlers on both databases and ends with a replay.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from engine.errors import ForbiddenError, InvalidInputError
from tasks.gateway_ledger import LedgerEntry
from tasks.notices import render_notice
from tasks.office_records import NotificationRecord
from tasks.payment_ledger import reconcile
from tasks.payment_records import PremiumPaymentRecord
from tasks.records import PolicyRecord
from tasks.sales_records import LargeCashReportRecord, PremiumRefundRecord, SuspiciousTransactionReportRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_sales_scenarios import (
    APPLICANT,
    MED01_PREMIUM,
    PAYER_ACCOUNT,
    assert_replays,
    earlier_cash_today,
    handlers_run,
    id_number,
    last_events,
    needs,
    notifications,
    open_keys,
    pay_premium,
    payment,
    quote,
    receive,
    rows,
    sale_at_terms,
    start_sale,
    tasks_opened,
    unsuitable_sale_at_compliance,
)

THIRD_PARTY = payment(payer_name="Zhou Bin 周斌", payer_id_number=id_number(date(1970, 5, 5), 331))
WATCH_LISTED = payment(payer_name="Hu Heiming 胡黑名")
# Words that would tell the customer about the review (tipping-off).
TIPPING_OFF = ("AML", "money laundering", "suspicious", "report", "sanction", "watch", "review", "反洗钱", "可疑",
               "报告", "审查", "制裁")


def sent(insurer: Insurer, template: str) -> NotificationRecord:
    """The one customer message of a template."""
    [message] = rows(insurer, NotificationRecord, NotificationRecord.template == template)
    return message


def premium_of(insurer: Insurer, sale: int) -> PremiumPaymentRecord:
    """The premium payment the sale recorded."""
    payment_id = insurer.data(sale)["premium"]["payment_id"]
    [paid] = rows(insurer, PremiumPaymentRecord, PremiumPaymentRecord.id == payment_id)
    return paid


def refused_by_two_officers(insurer: Insurer, paid: dict[str, Any], earlier_cash: str | None = None) -> int:
    """A sale whose premium hit an AML rule, refused by one officer and confirmed by a second."""
    sale = sale_at_terms(insurer)
    if earlier_cash:
        earlier_cash_today(insurer, sale, earlier_cash)
    pay_premium(insurer, sale, paid)
    assert open_keys(insurer, sale) == ["aml_review"]
    insurer.complete(sale, "aml_review", "compliance", {"cleared": False, "aml_comment": "Cannot explain the funds."})
    insurer.complete(sale, "aml_approval", "compliance2", {"aml_confirmed": True, "aml_approval_comment": "Agreed."})
    assert open_keys(insurer, sale) == ["file_str"]
    return sale


# --- item 4: suspense, report, refund --------------------------------------------------------------

def test_a_premium_is_held_in_suspense_while_its_aml_hit_is_reviewed_and_no_policy_exists(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)

    pay_premium(insurer, sale, THIRD_PARTY)

    assert open_keys(insurer, sale) == ["aml_review"]
    assert premium_of(insurer, sale).status == "suspense"  # received, but not income
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []
    assert handlers_run(insurer, sale)[-2:] == ["svc_collect_premium", "svc_report_large_cash"]
    assert notifications(insurer) == []
    assert_replays(insurer, sale)


def test_an_aml_refusal_files_a_report_refunds_the_premium_to_its_account_and_tells_the_customer_nothing_of_it(
        insurer: Insurer) -> None:
    sale = refused_by_two_officers(insurer, THIRD_PARTY)

    status = insurer.complete(sale, "file_str", "compliance",
                              {"str_grounds": "A third party with no stated relation pays the premium."})

    assert status == "completed"
    [report] = rows(insurer, SuspiciousTransactionReportRecord)
    assert report.reference.startswith("STR") and report.reference == insurer.data(sale)["str_report"]["reference"]
    assert (report.rule, report.filed_by) == ("The payer is not the policyholder", "compliance")
    assert report.grounds == "A third party with no stated relation pays the premium."
    [refund] = rows(insurer, PremiumRefundRecord)
    assert (refund.status, refund.amount) == ("accepted", Decimal("491.40"))
    assert insurer.cipher.decrypt(refund.payee_account_enc) == PAYER_ACCOUNT  # the account it came from
    assert [amount for amount, _purpose in insurer.gateway.paid.values()] == [Decimal("491.40")]
    assert premium_of(insurer, sale).status == "refunded"
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []
    assert last_events(insurer, sale, 6) == [
        ("task_completed", "file_str"), ("handler_executed", "svc_file_str"),
        ("effect_intended", "svc_refund_premium"), ("effect_settled", "svc_refund_premium"),
        ("handler_executed", "svc_notify_aml"), ("instance_completed", None)]
    # the customer gets a letter that the application was not accepted and how the premium comes back
    assert notifications(insurer) == ["sale_not_concluded"]
    letter = sent(insurer, "sale_not_concluded")
    assert (letter.channel, letter.params) == ("letter", {"product_code": "MED01", "premium_amount": MED01_PREMIUM})
    for language in ("zh", "en"):
        text = render_notice("sale_not_concluded", letter.params, language)
        assert "491.4" in text and not [word for word in TIPPING_OFF if word.lower() in text.lower()]
    assert "aml" not in letter.template and "str" not in letter.params
    assert_replays(insurer, sale)


def test_a_declined_premium_refund_goes_to_finance_who_retries_it_to_the_same_account(insurer: Insurer) -> None:
    sale = refused_by_two_officers(insurer, THIRD_PARTY)
    insurer.gateway.script = ["decline"]

    insurer.complete(sale, "file_str", "compliance", {"str_grounds": "A third party pays, no relation shown."})

    assert open_keys(insurer, sale) == ["resolve_premium_refund"]
    assert insurer.task(sale, "resolve_premium_refund").candidate_role == "finance"
    assert insurer.data(sale)["premium_refund_error"]["message"] == "account closed"
    assert premium_of(insurer, sale).status == "suspense"  # nothing left the insurer
    assert notifications(insurer) == []
    with pytest.raises(InvalidInputError):  # a choice outside the list is refused; the task stays open
        insurer.complete(sale, "resolve_premium_refund", "finance", {"refund_action": "pay_elsewhere",
                                                                     "refund_note": "x"})

    status = insurer.complete(sale, "resolve_premium_refund", "finance",
                              {"refund_action": "retry", "refund_note": "The bank reopened the account."})

    assert status == "completed"
    refunds = rows(insurer, PremiumRefundRecord)
    assert [r.status for r in refunds] == ["failed", "accepted"]
    assert refunds[0].idempotency_key != refunds[1].idempotency_key  # a declined key is spent: a new attempt
    assert {insurer.cipher.decrypt(r.payee_account_enc) for r in refunds} == {PAYER_ACCOUNT}
    assert premium_of(insurer, sale).status == "refunded"
    assert notifications(insurer) == ["sale_not_concluded"]
    # the payments reconciliation knows premium refunds: both attempts agree with the gateway's books
    gateway = insurer.gateway
    booked = [LedgerEntry(key, "accepted", amount, purpose, "") for key, (amount, purpose) in gateway.paid.items()]
    booked += [LedgerEntry(key, "declined", amount, "", "") for key, (amount, _why) in gateway.declined.items()]
    with insurer.rt.session_factory() as session:
        lines = reconcile(session, booked, insurer.clock(), "premium:")
    assert [(line.gateway_outcome, line.recorded_status, line.problem) for line in lines] == [
        ("declined", "failed", None), ("accepted", "accepted", None)]
    assert_replays(insurer, sale)


def test_a_cash_premium_has_no_account_to_refund_to_and_finance_records_it_returned_at_the_counter(
        insurer: Insurer) -> None:
    sale = refused_by_two_officers(insurer, payment(method="cash"), earlier_cash="49600.00")

    insurer.complete(sale, "file_str", "compliance", {"str_grounds": "Split cash payments just under the limit."})

    assert open_keys(insurer, sale) == ["resolve_premium_refund"]
    assert insurer.data(sale)["premium_refund_error"]["reason"] == "no_account"
    assert rows(insurer, PremiumRefundRecord) == [] and insurer.gateway.paid == {}
    status = insurer.complete(sale, "resolve_premium_refund", "finance",
                              {"refund_action": "returned_in_cash", "refund_note": "Returned at the Beijing counter."})

    assert status == "completed"
    assert premium_of(insurer, sale).status == "returned_in_cash"
    assert handlers_run(insurer, sale)[-2:] == ["svc_settle_refund", "svc_notify_aml"]
    assert notifications(insurer) == ["sale_not_concluded"]
    assert_replays(insurer, sale)


def test_a_watch_listed_payers_premium_is_never_sent_back_and_finance_holds_it(insurer: Insurer) -> None:
    sale = refused_by_two_officers(insurer, WATCH_LISTED)

    insurer.complete(sale, "file_str", "compliance", {"str_grounds": "The payer is on the sanctions list."})

    assert open_keys(insurer, sale) == ["resolve_premium_refund"]
    assert insurer.data(sale)["premium_refund_error"]["reason"] == "aml_hit"
    assert insurer.gateway.paid == {}
    insurer.complete(sale, "resolve_premium_refund", "finance",
                     {"refund_action": "held", "refund_note": "Frozen; reported to the PBOC branch."})

    assert premium_of(insurer, sale).status == "held"
    [report] = rows(insurer, SuspiciousTransactionReportRecord)
    assert report.rule == "The payer is on the sanctions / watch list"
    assert notifications(insurer) == ["sale_not_concluded"]
    assert_replays(insurer, sale)


def test_the_report_needs_its_grounds(insurer: Insurer) -> None:
    sale = refused_by_two_officers(insurer, THIRD_PARTY)

    with pytest.raises(InvalidInputError):
        insurer.complete(sale, "file_str", "compliance", {"str_grounds": "short"})

    assert open_keys(insurer, sale) == ["file_str"]
    assert rows(insurer, SuspiciousTransactionReportRecord) == [] and rows(insurer, PremiumRefundRecord) == []
    assert premium_of(insurer, sale).status == "suspense"
    assert_replays(insurer, sale)


# --- item 16: four eyes in compliance --------------------------------------------------------------

def test_one_compliance_officer_alone_cannot_clear_an_aml_hit(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)
    pay_premium(insurer, sale, THIRD_PARTY)
    insurer.complete(sale, "aml_review", "compliance", {"cleared": True, "aml_comment": "Father pays for his son."})

    with pytest.raises(ForbiddenError):  # the first reviewer may not confirm their own proposal
        insurer.complete(sale, "aml_approval", "compliance", {"aml_confirmed": True, "aml_approval_comment": "ok"})
    with pytest.raises(ForbiddenError):  # nor may the agent
        insurer.complete(sale, "aml_approval", "agent", {"aml_confirmed": True, "aml_approval_comment": "ok"})

    assert open_keys(insurer, sale) == ["aml_approval"]
    assert premium_of(insurer, sale).status == "suspense"
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []
    insurer.complete(sale, "aml_approval", "compliance2", {"aml_confirmed": True, "aml_approval_comment": "Seen."})
    assert premium_of(insurer, sale).status == "cleared"
    assert len(rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)) == 1
    assert_replays(insurer, sale)


def test_when_the_second_officer_disagrees_the_case_goes_back_to_the_first_review(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)
    pay_premium(insurer, sale, THIRD_PARTY)
    insurer.complete(sale, "aml_review", "compliance", {"cleared": True, "aml_comment": "Looks fine."})

    insurer.complete(sale, "aml_approval", "compliance2",
                     {"aml_confirmed": False, "aml_approval_comment": "Ask for the source of funds first."})

    assert open_keys(insurer, sale) == ["aml_review"]
    assert premium_of(insurer, sale).status == "suspense"
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []
    assert rows(insurer, SuspiciousTransactionReportRecord) == []
    # second round: the first reviewer now proposes to refuse, the other officer confirms
    insurer.complete(sale, "aml_review", "compliance", {"cleared": False, "aml_comment": "No source of funds given."})
    with pytest.raises(ForbiddenError):
        insurer.complete(sale, "aml_approval", "compliance", {"aml_confirmed": True, "aml_approval_comment": "ok"})
    insurer.complete(sale, "aml_approval", "compliance2", {"aml_confirmed": True, "aml_approval_comment": "Agreed."})
    assert open_keys(insurer, sale) == ["file_str"]
    assert tasks_opened(insurer, sale)[-5:] == ["aml_review", "aml_approval", "aml_review", "aml_approval",
                                                "file_str"]
    assert_replays(insurer, sale)


def test_whoever_took_the_customers_acknowledgement_may_not_approve_or_countersign_the_sale(
        insurer: Insurer) -> None:
    # an agent who also holds the compliance role sells the policy (an agent's sale stays theirs)…
    sale = start_sale(insurer, agent="agent.compliance")
    insurer.complete(sale, "needs_analysis", "agent.compliance", needs(income=1_200))
    insurer.complete(sale, "present_quote", "agent.compliance", quote())
    # …and takes the customer's acknowledgement…
    insurer.complete(sale, "customer_acknowledgement", "agent.compliance",
                     {"acknowledged": True, "customer_statement": "My family pays."})

    with pytest.raises(ForbiddenError):  # …and may not approve the sale they sold
        insurer.complete(sale, "compliance_approval", "agent.compliance", {"approved": True, "comment": "fine"})
    insurer.complete(sale, "compliance_approval", "compliance", {"approved": True, "comment": "Documented."})
    with pytest.raises(ForbiddenError):  # nor countersign it
        insurer.complete(sale, "compliance_countersign", "agent.compliance",
                         {"countersigned": True, "countersign_comment": "ok"})
    insurer.complete(sale, "compliance_countersign", "compliance2",
                     {"countersigned": True, "countersign_comment": "Agreed."})

    assert open_keys(insurer, sale) == ["application"]
    assert_replays(insurer, sale)


def test_an_unsuitable_sale_approved_by_one_officer_and_not_countersigned_is_refused(insurer: Insurer) -> None:
    sale = unsuitable_sale_at_compliance(insurer)
    insurer.complete(sale, "compliance_approval", "compliance", {"approved": True, "comment": "Family pays."})

    with pytest.raises(ForbiddenError):  # the approving officer may not countersign
        insurer.complete(sale, "compliance_countersign", "compliance",
                         {"countersigned": True, "countersign_comment": "ok"})
    status = insurer.complete(sale, "compliance_countersign", "compliance2",
                              {"countersigned": False, "countersign_comment": "No evidence of family support."})

    assert status == "completed"
    assert "application" not in tasks_opened(insurer, sale)
    assert last_events(insurer, sale, 3) == [
        ("task_completed", "compliance_countersign"), ("handler_executed", "svc_notify_unsuitable"),
        ("instance_completed", None)]
    assert notifications(insurer) == ["sale_refused_unsuitable"]
    assert_replays(insurer, sale)


# --- item 14: withdrawal and lapse at the quote -----------------------------------------------------

def test_the_customer_withdraws_at_the_quote_and_the_sale_ends_withdrawn_with_a_notice(insurer: Insurer) -> None:
    sale = start_sale(insurer)
    insurer.complete(sale, "needs_analysis", "agent", needs())
    insurer.complete(sale, "present_quote", "agent", quote(term_years=3))  # no rate: back to the quote
    assert open_keys(insurer, sale) == ["present_quote"]
    with pytest.raises(InvalidInputError):  # without a withdrawal the product fields are required
        insurer.complete(sale, "present_quote", "agent", {"withdraw": False})

    status = insurer.complete(sale, "present_quote", "agent",
                              {"withdraw": True, "withdrawal_note": "Bought cover elsewhere."})

    assert status == "completed"
    assert handlers_run(insurer, sale) == ["svc_register_customer", "svc_price_quote", "svc_notify_withdrawn"]
    assert last_events(insurer, sale, 2) == [("handler_executed", "svc_notify_withdrawn"), ("instance_completed", None)]
    assert sent(insurer, "sale_withdrawn").params == {"withdrawal_note": "Bought cover elsewhere."}
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []
    assert_replays(insurer, sale)


def test_a_sale_left_at_the_quote_for_30_days_lapses_with_a_notice(insurer: Insurer) -> None:
    sale = start_sale(insurer)
    insurer.complete(sale, "needs_analysis", "agent", needs())

    assert insurer.wait(days=29).timers_fired == 0
    assert open_keys(insurer, sale) == ["present_quote"]
    assert insurer.wait(days=1, seconds=1).timers_fired == 1

    assert insurer.status(sale) == "completed"
    assert open_keys(insurer, sale) == []
    assert last_events(insurer, sale, 3) == [("timer_fired", "quote_timeout"),
                                             ("handler_executed", "svc_notify_lapsed"), ("instance_completed", None)]
    assert sent(insurer, "sale_lapsed").customer_id == insurer.data(sale)["customer"]["customer_id"]
    assert_replays(insurer, sale)


# --- item 15: the policy-issued notice and the receipt date ------------------------------------------

def test_the_policy_issued_notice_states_the_receipt_date_and_cooling_off_counts_from_it(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)
    pay_premium(insurer, sale)
    insurer.wait(days=2)  # the holder signs the receipt two days after issue (test_sales_receipt.py)

    receive(insurer, sale, "2026-11-04")

    policy, receipt = insurer.data(sale)["policy"], insurer.data(sale)["receipt"]
    [record] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    received = record.documents_received_on
    assert received == date(2026, 11, 4) and receipt["receipt_date"] == received.isoformat()
    assert record.cooling_off_end == received + timedelta(days=15)  # cooling_off.dmn: 15 days for a 5-year term
    assert receipt["cooling_off_end"] == "2026-11-19"  # the output the cooling-off timer waits on
    notice = sent(insurer, "policy_issued")
    assert notice.channel == "letter"
    assert notice.params == {"policy_number": policy["policy_number"], "product_code": "MED01",
                             "start_date": "2026-11-02", "receipt_date": "2026-11-04", "cooling_off_days": 15,
                             "cooling_off_end": "2026-11-19"}
    zh, en = (render_notice("policy_issued", notice.params, language) for language in ("zh", "en"))
    assert "2026-11-04" in zh and "15 日" in zh and "2026-11-19" in zh
    assert "received them on 2026-11-04" in en and "15 days" in en
    assert_replays(insurer, sale)


# --- item 18: cash cap and large-cash report ---------------------------------------------------------

def test_cash_above_the_agents_cap_is_refused_and_the_premium_taken_by_transfer(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer, chosen=quote(sum_insured=450_000))  # 450 × 2.457 = 1,105.65 a year
    assert insurer.data(sale)["annual_premium"] == Decimal("1105.65")

    status = pay_premium(insurer, sale, payment(method="cash"))

    assert status == "running" and open_keys(insurer, sale) == ["premium_payment"]  # back to the agent
    data = insurer.data(sale)
    assert (data["cash_allowed"], data["cash_cap"]) == (False, 1000)
    assert data["cash_refusal"].startswith("An agent may take at most 1,000 CNY in cash")
    assert rows(insurer, PremiumPaymentRecord) == []  # nothing was taken
    insurer.complete(sale, "premium_payment", "agent", payment(method="transfer"))

    assert open_keys(insurer, sale) == ["record_receipt"]  # issued
    [paid] = rows(insurer, PremiumPaymentRecord)
    assert (paid.method, paid.amount, paid.status) == ("transfer", Decimal("1105.65"), "cleared")
    assert tasks_opened(insurer, sale)[-3:] == ["premium_payment", "premium_payment", "record_receipt"]
    assert_replays(insurer, sale)


def test_cash_within_the_cap_is_taken_without_a_large_cash_report(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)

    pay_premium(insurer, sale, payment(method="cash"))

    assert open_keys(insurer, sale) == ["record_receipt"]  # issued
    assert insurer.data(sale)["large_cash"] == {"reported": False, "reference": None, "cash_today": MED01_PREMIUM}
    assert rows(insurer, LargeCashReportRecord) == []
    assert_replays(insurer, sale)


def test_a_payers_cash_of_50000_in_a_day_is_reported_as_a_large_transaction(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)
    earlier_cash_today(insurer, sale, "49600.00")

    pay_premium(insurer, sale, payment(method="cash"))

    [report] = rows(insurer, LargeCashReportRecord)
    assert report.reference.startswith("LCT20261102")
    assert (report.cash_total, report.day, report.payer_name) == (Decimal("50091.40"), date(2026, 11, 2), APPLICANT)
    assert report.payer_hash == insurer.cipher.lookup_hash(id_number())  # the payer, by keyed hash only
    assert insurer.data(sale)["large_cash"]["reference"] == report.reference
    assert open_keys(insurer, sale) == ["aml_review"]  # and the day's cash is an AML hit, reviewed by compliance
    assert_replays(insurer, sale)


def test_a_transfer_without_the_account_it_comes_from_is_refused_and_nothing_is_recorded(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)
    insurer.complete(sale, "accept_terms", "agent", {"accepted": True})

    with pytest.raises(InvalidInputError) as refused:
        insurer.complete(sale, "premium_payment", "agent", payment(payer_account=""))

    assert "payer_account" in refused.value.details["fields"]
    assert open_keys(insurer, sale) == ["premium_payment"]
    with insurer.rt.session_factory() as session:
        assert session.scalars(select(PremiumPaymentRecord)).all() == []
    assert_replays(insurer, sale)
