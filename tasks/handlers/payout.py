"""Payout handlers: claim payments and refunds through the payment gateway, exactly once per attempt.

The gateway key is the payment's business identity — `claim:<number>:<uid>:payout:<attempt>` and
`policy:<number>:<uid>:refund:<attempt>` — where the uid is the claim's or policy's own committed
identity (numbers of a rolled-back row are reused; uids never are) and the attempt counts the
committed, final declines of that payment before it. Nothing of the running step goes into it, so a
step that dies after the gateway accepted but before the commit (a killed worker, a failed commit)
computes the same key when it is run again, and the gateway's answer for that key is taken instead
of paying twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.registry import BpmnError, HandlerContext

from ..common import money, services
from ..payment_gateway import GatewayAnswer
from ..records import ClaimRecord, CustomerRecord, PaymentRecord, PolicyRecord
from ..timeline import set_claim_status
from .claims import watch_listed

AML_HIT = "payee on the sanctions/watch list"


def pay_claim(ctx: HandlerContext, claim_id: int, amount: float) -> dict[str, Any]:
    """Screen the payee, then pay the claim once per attempt — BPMN error `payment_failed` on a hit or decline."""
    session = ctx.session
    claim = session.get(ClaimRecord, int(claim_id))
    if claim is None:
        raise LookupError(f"no claim with id {claim_id}")
    if claim.status in ("rejected", "withdrawn"):  # a diagram that pays a closed claim has a bug: an incident
        raise ValueError(f"claim {claim.number} is {claim.status} and cannot be paid")
    value = _positive(amount)
    if watch_listed(session, claim.payee_account_hash, session.get(CustomerRecord, claim.claimant_id)):
        raise BpmnError("payment_failed", AML_HIT, {"reason": "aml_hit"})
    key = payment_key(session, "claim_payout", f"claim:{claim.number}:{claim.uid[:12]}:payout",
                      claim_id=claim.id)
    payment, reconciled = _settle(ctx, key, "claim_payout", claim.policy_id, claim.id, value,
                                  claim.payee_account_enc, f"claim {claim.number}")
    # Repeating these for an already accepted payment is harmless: each is idempotent.
    claim.paid_amount = payment.amount
    set_claim_status(session, claim, "paid", ctx.now())  # the claimant is told by the diagram's notify step
    session.flush()
    return _result(payment, reconciled)


def pay_refund(ctx: HandlerContext, policy_id: int, amount: float, payee_account: str) -> dict[str, Any]:
    """Screen the payee, then pay a policy refund once per attempt — BPMN error `payment_failed` on failure."""
    session = ctx.session
    policy = session.get(PolicyRecord, int(policy_id))
    if policy is None:
        raise LookupError(f"no policy with id {policy_id}")
    if money(amount) == 0:  # a surrender in a year with no surrender value: nothing to send
        return {"payment_id": None, "gateway_ref": None, "status": "nothing_to_pay", "reconciled": False}
    value = _positive(amount)
    cipher = services(ctx).cipher
    if watch_listed(session, cipher.lookup_hash(payee_account), session.get(CustomerRecord, policy.holder_id)):
        raise BpmnError("payment_failed", AML_HIT, {"reason": "aml_hit"})
    key = payment_key(session, "refund", f"policy:{policy.number}:{policy.uid[:12]}:refund",
                      policy_id=policy.id)
    payment, reconciled = _settle(ctx, key, "refund", policy.id, None, value, cipher.encrypt(payee_account),
                                  f"refund policy {policy.number}")
    return _result(payment, reconciled)


def payment_key(session: Session, kind: str, prefix: str, *, claim_id: int | None = None,
                policy_id: int | None = None) -> str:
    """`<prefix>:<attempt>`: the attempt after the committed final declines of this payment (a declined
    key is spent at the gateway; a finance retry needs a new one)."""
    subject = PaymentRecord.claim_id == claim_id if claim_id is not None else PaymentRecord.policy_id == policy_id
    declines = session.scalar(select(func.count(PaymentRecord.id)).where(
        subject, PaymentRecord.kind == kind, PaymentRecord.status == "failed")) or 0
    return f"{prefix}:{declines + 1}"


def _settle(
    ctx: HandlerContext, key: str, kind: str, policy_id: int, claim_id: int | None, amount: Decimal,
    account_enc: bytes, purpose: str,
) -> tuple[PaymentRecord, bool]:
    """The accepted payment for `key`, paying it if the gateway has not yet, and whether the gateway's
    answer was read back (an earlier run reached it and died before its commit); raises on failure."""
    session, now = ctx.session, ctx.now()
    payment = session.scalar(select(PaymentRecord).where(PaymentRecord.idempotency_key == key))
    if payment is None:
        payment = PaymentRecord(idempotency_key=key, kind=kind, claim_id=claim_id, policy_id=policy_id,
                                amount=amount, payee_account_enc=account_enc, status="pending", attempts=0,
                                created_at=now, updated_at=now)
        session.add(payment)
        session.flush()
    if payment.status == "accepted":
        return payment, False
    if payment.status == "failed":  # the gateway's answer for this key is final
        raise BpmnError("payment_failed", payment.failure or "payment declined", {"reason": "declined"})
    gateway = services(ctx).gateway
    # Always ask before paying. A timeout, a crash or a failed commit undoes this pending row and its
    # `attempts`: the next run finds no row and cannot tell that an earlier call reached the gateway
    # (and perhaps paid, as in "accept, then time out"). The gateway is the only record that outlives
    # the rollback, and the key is the same on every run, so its answer for the key decides; pay is
    # called only when the gateway has never seen the key.
    answer: GatewayAnswer | None = gateway.status(key)
    reconciled = answer is not None
    if answer is not None and answer.amount is not None and money(answer.amount) != payment.amount:
        # The step was run again with another amount after the gateway took the first: never silent.
        raise RuntimeError(f"the gateway already holds {key} for {money(answer.amount)}, not the "
                           f"{payment.amount} asked now: reconcile the payment before going on")
    if answer is None:
        payment.attempts += 1
        payment.updated_at = now
        # A GatewayTimeoutError propagates: an incident, and the engine retries this step with the same key.
        answer = gateway.pay(key, payment.amount, services(ctx).cipher.decrypt(payment.payee_account_enc), purpose)
    payment.updated_at = now
    if answer.accepted:
        payment.status, payment.gateway_ref = "accepted", answer.reference
        session.flush()
        return payment, reconciled
    payment.status, payment.failure = "failed", answer.reason or "payment declined"
    session.flush()
    # A BPMN error keeps what the handler wrote, so the failed row stays with its reason.
    raise BpmnError("payment_failed", payment.failure, {"reason": "declined"})


def _positive(amount: float) -> Decimal:
    value = money(amount)
    if value <= 0:
        raise ValueError(f"a payment needs a positive amount, not {value}")
    return value


def _result(payment: PaymentRecord, reconciled: bool) -> dict[str, Any]:
    # `reconciled`: the outcome was read back from the gateway, not paid now — it stays in the case's history.
    return {"payment_id": payment.id, "gateway_ref": payment.gateway_ref, "status": payment.status,
            "reconciled": reconciled}


HANDLERS = [pay_claim, pay_refund]
