"""The sale's money controls: the large-cash report, the suspicious-transaction report, and what becomes
of a premium held in suspense — cleared as income, or refunded to the account it came from.

The refund is an external payment made exactly once through the engine's outbox, like `pay_refund`
(see tasks/handlers/payout.py): the first run writes a pending refund under its key and returns an
`Effect`; the gateway is asked what it holds for the key before anything is paid; the second run
records the answer — or raises the BPMN error `payment_failed` for the diagram's failure path.

Nothing here reaches the customer (tipping-off): the reports stay with compliance.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.registry import BpmnError, Effect, EffectKind, HandlerContext

from ..common import money
from ..payment_records import PremiumPaymentRecord
from ..records import CustomerRecord
from ..sales_records import (
    PREMIUM_STATUSES,
    LargeCashReportRecord,
    PremiumRefundRecord,
    SuspiciousTransactionReportRecord,
)
from .customers import on_watch_list
from .payout import call_gateway  # the same gateway call: ask what it holds for the key, then pay


def premium_payment(session: Session, payment_id: int) -> PremiumPaymentRecord:
    """The premium payment with this id; a missing one is a fault in the process data."""
    payment = session.get(PremiumPaymentRecord, int(payment_id))
    if payment is None:
        raise LookupError(f"no premium payment with id {payment_id}")
    return payment


def report_large_cash(ctx: HandlerContext, payment_id: int, threshold: float) -> dict[str, Any]:
    """File the payer's large-transaction report for the day once their cash that day reaches `threshold`
    (cash_limits.dmn); one report per payer and day, whatever number of premiums make it up."""
    session = ctx.session
    payment = premium_payment(session, payment_id)
    total = money(session.scalar(select(func.coalesce(func.sum(PremiumPaymentRecord.amount), 0)).where(
        PremiumPaymentRecord.payer_hash == payment.payer_hash, PremiumPaymentRecord.paid_on == payment.paid_on,
        PremiumPaymentRecord.method == "cash")))
    report = session.scalar(select(LargeCashReportRecord).where(
        LargeCashReportRecord.payer_hash == payment.payer_hash, LargeCashReportRecord.day == payment.paid_on))
    if report is None and total >= money(threshold):
        report = LargeCashReportRecord(reference=f"~{ctx.idempotency_key[-20:]}", payer_hash=payment.payer_hash,
                                       payer_name=payment.payer_name, day=payment.paid_on, cash_total=total,
                                       premium_payment_id=payment.id, reported_at=ctx.now())
        session.add(report)
        session.flush()
        report.reference = f"LCT{payment.paid_on:%Y%m%d}{report.id:06d}"
        session.flush()
    elif report is not None and total > report.cash_total:
        report.cash_total = total  # a later cash premium the same day adds to the day's report
    if report is None:
        return {"reported": False, "reference": None, "cash_today": money(total)}
    return {"reported": True, "reference": report.reference, "cash_today": money(total)}


def file_suspicious_report(ctx: HandlerContext, payment_id: int, rule: str, grounds: str) -> dict[str, Any]:
    """Record the suspicious-transaction report compliance filed on the premium (once per step); its reference."""
    session = ctx.session
    payment = premium_payment(session, payment_id)
    text = (grounds or "").strip()
    if not text:
        raise ValueError("a suspicious-transaction report needs compliance's grounds")
    report = session.scalar(select(SuspiciousTransactionReportRecord).where(
        SuspiciousTransactionReportRecord.idempotency_key == ctx.idempotency_key))
    if report is None:
        report = SuspiciousTransactionReportRecord(
            reference=f"~{ctx.idempotency_key[-20:]}", idempotency_key=ctx.idempotency_key,
            premium_payment_id=payment.id, customer_id=payment.holder_id, rule=(rule or "")[:200], grounds=text,
            filed_by=ctx.actor, filed_at=ctx.now(), instance_id=ctx.instance_id)
        session.add(report)
        session.flush()
        report.reference = f"STR{payment.paid_on:%Y%m%d}{report.id:06d}"
        session.flush()
    return {"reference": report.reference, "filed_at": report.filed_at.isoformat()}


def settle_premium(ctx: HandlerContext, payment_id: int, outcome: str) -> dict[str, Any]:
    """Take a premium out of suspense: `cleared` (income), `returned_in_cash` or `held` (finance's
    resolution of a refund that could not be paid). A refund paid marks it `refunded` itself."""
    if outcome not in PREMIUM_STATUSES or outcome == "suspense":
        raise ValueError(f"a premium leaves suspense as one of {', '.join(PREMIUM_STATUSES[1:])}, not {outcome!r}")
    payment = premium_payment(ctx.session, payment_id)
    if payment.status not in ("suspense", outcome):
        raise ValueError(f"premium payment {payment.id} is {payment.status}, not in suspense")
    payment.status = outcome
    ctx.session.flush()
    return {"status": payment.status}


def refund_premium(ctx: HandlerContext, payment_id: int) -> dict[str, Any] | Effect:
    """Refund a premium in suspense to the account it came from, once per attempt — BPMN error
    `payment_failed` (data: reason `no_account`, `aml_hit` or `declined`) when it cannot be paid."""
    session = ctx.session
    payment = premium_payment(session, payment_id)
    if ctx.outcome is None:
        if payment.status == "refunded":
            refund = session.scalar(select(PremiumRefundRecord).where(
                PremiumRefundRecord.premium_payment_id == payment.id, PremiumRefundRecord.status == "accepted"))
            return _result(refund, False)
        if payment.status != "suspense":
            raise ValueError(f"premium payment {payment.id} is {payment.status}: only a premium in suspense is "
                             "refunded")
        if payment.payer_account_enc is None:  # paid in cash: no account to send it back to
            raise BpmnError("payment_failed", "the premium was paid in cash: there is no account to refund it to",
                            {"reason": "no_account"})
        holder = session.get(CustomerRecord, payment.holder_id)
        if on_watch_list(session, payment.payer_hash, payment.payer_name) or (
                holder is not None and on_watch_list(session, holder.id_number_hash, holder.name)):
            # A sanctioned person's money is frozen and reported, never sent back.
            raise BpmnError("payment_failed", "payer on the sanctions/watch list", {"reason": "aml_hit"})
        declines = session.scalar(select(func.count(PremiumRefundRecord.id)).where(
            PremiumRefundRecord.premium_payment_id == payment.id, PremiumRefundRecord.status == "failed")) or 0
        key = f"premium:{payment.id}:{payment.idempotency_key[-12:]}:refund:{declines + 1}"
        refund = session.scalar(select(PremiumRefundRecord).where(PremiumRefundRecord.idempotency_key == key))
        if refund is None:
            now = ctx.now()
            refund = PremiumRefundRecord(idempotency_key=key, premium_payment_id=payment.id, amount=payment.amount,
                                         payee_account_enc=payment.payer_account_enc, status="pending",
                                         created_at=now, updated_at=now)
            session.add(refund)
            session.flush()
        if refund.status == "pending":
            return Effect(PREMIUM_REFUND.name, key)
    else:
        key = ctx.outcome["key"]
    refund = session.scalar(select(PremiumRefundRecord).where(PremiumRefundRecord.idempotency_key == key))
    if refund is None:
        raise LookupError(f"no premium refund intent {key}")
    outcome = ctx.outcome
    if outcome is not None and refund.status == "pending":
        if outcome["amount"] is not None and money(outcome["amount"]) != refund.amount:
            raise RuntimeError(f"the gateway holds {key} for {money(outcome['amount'])}, not the {refund.amount} "
                               "of the refund: reconcile it before going on")
        refund.updated_at = ctx.now()
        if outcome["accepted"]:
            refund.status, refund.gateway_ref = "accepted", outcome["reference"]
            payment.status = "refunded"
        else:
            refund.status, refund.failure = "failed", outcome["reason"] or "payment declined"
        session.flush()
    if refund.status == "failed":
        raise BpmnError("payment_failed", refund.failure or "payment declined", {"reason": "declined"})
    return _result(refund, bool(outcome and outcome["reconciled"]))


def _result(refund: PremiumRefundRecord | None, reconciled: bool) -> dict[str, Any]:
    if refund is None:
        raise LookupError("the premium is marked refunded but no accepted refund exists")
    return {"refund_id": refund.id, "amount": money(refund.amount), "gateway_ref": refund.gateway_ref,
            "status": refund.status, "reconciled": reconciled}


def _describe(session: Session, services_: Any, key: str) -> dict[str, Any]:
    """What to send for the refund under `key`: its amount, the account it goes back to (sealed), purpose."""
    refund = session.scalar(select(PremiumRefundRecord).where(PremiumRefundRecord.idempotency_key == key))
    if refund is None:
        raise LookupError(f"no premium refund intent {key}")
    return {"amount": refund.amount, "account_enc": refund.payee_account_enc,
            "purpose": f"premium refund {refund.premium_payment_id}"}


PREMIUM_REFUND = EffectKind("premium_refund", _describe, call_gateway)

HANDLERS = [report_large_cash, file_suspicious_report, settle_premium, refund_premium]
EFFECT_KINDS = [PREMIUM_REFUND]
