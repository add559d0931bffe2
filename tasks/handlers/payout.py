"""Payout handlers: claim payments and refunds through the payment gateway, exactly once.

A payout is an external side effect, made through the engine's outbox (`engine/workflow/effects.py`):
- first run of the step (in the case's transaction): the checks, then the *intent* — a pending payment
  row under its key — and `Effect("payment", key)`; the engine commits the intent and leaves the step
  started;
- the call (`PAYMENT`, no transaction open): ask the gateway what it holds for the key; pay only when
  it holds nothing;
- second run of the step, with `ctx.outcome` (in a new transaction): record the outcome on the payment
  and the claim, and return the step's result — or `payment_failed` on a decline.

The key is the payment's business identity — `claim:<number>:<uid>:payout:<attempt>` and
`policy:<number>:<uid>:refund:<attempt>` — where the uid is the claim's or policy's own committed
identity (numbers of a rolled-back row are reused; uids never are) and the attempt counts the
committed, final declines of that payment before it. A process that dies after the gateway accepted
leaves the committed intent open; whoever resumes it (the worker, a retry) asks the gateway first and
takes its answer for the key instead of paying twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.registry import BpmnError, Effect, EffectKind, HandlerContext

from ..beneficiaries import beneficiary_share
from ..common import money, services
from ..payment_gateway import GatewayAnswer
from ..payment_records import PaymentRecord
from ..records import ClaimRecord, CustomerRecord, PolicyRecord
from ..refund_accounts import refund_account
from ..timeline import set_claim_status
from .claims import watch_listed

AML_HIT = "payee on the sanctions/watch list"


def pay_claim(ctx: HandlerContext, claim_id: int, amount: float,
              screening_cleared: bool = False) -> dict[str, Any] | Effect:
    """Screen the payee, then pay the claim once per attempt — BPMN error `payment_failed` on a hit (reason
    `aml_hit`, before any intent) or a decline. `screening_cleared`: compliance found the hit a false positive
    for this payee and account, so the watch list no longer stops this payout."""
    session = ctx.session
    claim = session.get(ClaimRecord, int(claim_id))
    if claim is None:
        raise LookupError(f"no claim with id {claim_id}")
    if ctx.outcome is None:  # the intent; the outcome is recorded whatever happened to the claim meanwhile
        # A diagram that pays a closed claim has a bug: an incident.
        if claim.status in ("rejected", "withdrawn", "unpaid"):
            raise ValueError(f"claim {claim.number} is {claim.status} and cannot be paid")
        value = money(amount)
        if value <= 0:  # the assessment form refuses it: a claim with nothing to pay is denied, never paid 0
            raise ValueError(f"claim {claim.number}: nothing to pay ({value}); deny the claim instead")
        cover = session.get(PolicyRecord, claim.policy_id)
        if cover is not None and value > cover.remaining_sum_insured:
            # The form refuses it too; only another claim on the policy paid in between gets here.
            left = money(cover.remaining_sum_insured)
            raise ValueError(f"claim {claim.number}: {value} is more than the {left} left of the sum insured of "
                             f"policy {cover.number}; assess the claim again")
        share = beneficiary_share(session, claim, cover) if cover is not None else None
        if share is not None and value > money(share):
            # The form refuses it too; only a change of the beneficiaries' shares in between gets here.
            raise ValueError(f"claim {claim.number}: {value} is more than the claimant's share of {money(share)}; "
                             "assess the claim again")
        if not screening_cleared and watch_listed(session, claim.payee_account_hash,
                                                  session.get(CustomerRecord, claim.claimant_id)):
            raise BpmnError("payment_failed", AML_HIT, {"reason": "aml_hit"})
        key, payment = _intent(ctx, f"claim:{claim.number}:{claim.uid[:12]}:payout", "claim_payout",
                               claim.policy_id, claim.id, value, claim.payee_account_enc)
        if payment.status == "pending":
            return Effect(PAYMENT.name, key)
    payment, reconciled = _outcome(ctx, key if ctx.outcome is None else ctx.outcome["key"])
    # Repeating these for an already accepted payment is harmless: each is idempotent.
    claim.paid_amount = payment.amount
    set_claim_status(session, claim, "paid", ctx.now())  # the claimant is told by the diagram's notify step
    session.flush()
    return _result(payment, reconciled)


def pay_refund(ctx: HandlerContext, policy_id: int, amount: float, payee_account: str = "",
               refund_to: str = "") -> dict[str, Any] | Effect:
    """Pay a policy refund once per attempt, only to an account it may go to (the premium's own account, or a
    verified account in the holder's name, never a staff member's) — BPMN error `payment_failed` on a refused
    account, a watch-list hit or a decline."""
    session = ctx.session
    policy = session.get(PolicyRecord, int(policy_id))
    if policy is None:
        raise LookupError(f"no policy with id {policy_id}")
    if ctx.outcome is None:
        if money(amount) == 0:  # a surrender in a year with no surrender value: nothing to send
            return {"payment_id": None, "gateway_ref": None, "status": "nothing_to_pay", "reconciled": False}
        value = _positive(amount)
        cipher = services(ctx).cipher
        # Whatever the diagram passes (an older version passed any account it was given), the account is checked.
        target = refund_to or ("holder_account" if (payee_account or "").strip() else "premium_account")
        found = refund_account(session, cipher, policy, target, payee_account)
        if found.account is None:
            raise BpmnError("payment_failed", f"refund account refused: {', '.join(found.reasons)}",
                            {"reason": "account_refused", "reasons": list(found.reasons)})
        if watch_listed(session, cipher.lookup_hash(found.account), session.get(CustomerRecord, policy.holder_id)):
            raise BpmnError("payment_failed", AML_HIT, {"reason": "aml_hit"})
        key, payment = _intent(ctx, f"policy:{policy.number}:{policy.uid[:12]}:refund", "refund", policy.id, None,
                               value, cipher.encrypt(found.account))
        if payment.status == "pending":
            return Effect(PAYMENT.name, key)
    payment, reconciled = _outcome(ctx, key if ctx.outcome is None else ctx.outcome["key"])
    return _result(payment, reconciled)


def _intent(
    ctx: HandlerContext, prefix: str, kind: str, policy_id: int, claim_id: int | None, amount: Decimal,
    account_enc: bytes,
) -> tuple[str, PaymentRecord]:
    """The key of this attempt — `<prefix>:<attempt>`, the attempt after the committed final declines of this
    payment (a declined key is spent at the gateway; a finance retry needs a new one) — and the payment under it:
    found (an earlier run wrote it) or written now as pending, the intent the engine commits before anyone calls
    the gateway. One read: the subject's payments of this kind."""
    session, now = ctx.session, ctx.now()
    subject = PaymentRecord.claim_id == claim_id if claim_id is not None else PaymentRecord.policy_id == policy_id
    earlier = list(session.scalars(select(PaymentRecord).where(subject, PaymentRecord.kind == kind)))
    key = f"{prefix}:{sum(1 for p in earlier if p.status == 'failed') + 1}"
    payment = next((p for p in earlier if p.idempotency_key == key), None)
    if payment is None:
        payment = PaymentRecord(idempotency_key=key, kind=kind, claim_id=claim_id, policy_id=policy_id,
                                amount=amount, payee_account_enc=account_enc, status="pending", attempts=0,
                                created_at=now, updated_at=now)
        session.add(payment)
        session.flush()
    elif payment.status == "pending" and payment.amount != amount:
        # The step was run again with another amount while the first is still open: never silent.
        raise RuntimeError(f"payment {key} is open for {payment.amount}, not the {amount} asked now: reconcile "
                           "the payment before going on")
    return key, payment


def _payment(session: Session, key: str) -> PaymentRecord | None:
    """The payment under `key`: the one this transaction already holds (the intent it wrote, no statement), else
    read."""
    for held in session.identity_map.values():
        if isinstance(held, PaymentRecord) and held.idempotency_key == key:
            return held
    return session.scalar(select(PaymentRecord).where(PaymentRecord.idempotency_key == key))


def _outcome(ctx: HandlerContext, key: str) -> tuple[PaymentRecord, bool]:
    """Record the gateway's answer (in `ctx.outcome`) on the payment; the accepted payment and whether the
    answer was read back rather than paid now; raises `payment_failed` on a decline."""
    session, outcome = ctx.session, ctx.outcome
    payment = _payment(session, key)
    if payment is None:
        raise LookupError(f"no payment intent {key}")
    if outcome is not None and payment.status == "pending":
        if outcome["amount"] is not None and money(outcome["amount"]) != payment.amount:
            raise RuntimeError(f"the gateway holds {key} for {money(outcome['amount'])}, not the {payment.amount} "
                               "of the intent: reconcile the payment before going on")
        payment.attempts += 0 if outcome["reconciled"] else 1
        payment.updated_at = ctx.now()
        if outcome["accepted"]:
            payment.status, payment.gateway_ref, payment.failure = "accepted", outcome["reference"], None
        else:
            payment.status, payment.failure = "failed", outcome["reason"] or "payment declined"
        session.flush()
    if payment.status == "failed":  # the gateway's answer for this key is final
        raise BpmnError("payment_failed", payment.failure or "payment declined", {"reason": "declined"})
    return payment, bool(outcome and outcome["reconciled"])


def _describe(session: Session, services_: Any, key: str) -> dict[str, Any]:
    """What to send for the intent under `key`: its amount, the payee's account (sealed) and purpose."""
    payment = _payment(session, key)
    if payment is None:
        raise LookupError(f"no payment intent {key}")
    if payment.claim_id is not None:
        purpose = f"claim {session.get(ClaimRecord, payment.claim_id).number}"
    else:
        purpose = f"refund policy {session.get(PolicyRecord, payment.policy_id).number}"
    return {"amount": payment.amount, "account_enc": payment.payee_account_enc, "purpose": purpose}


def call_gateway(services_: Any, key: str, request: dict[str, Any]) -> dict[str, Any]:
    """Ask the gateway what it holds for `key`; pay only when it holds nothing. Raises on no answer
    (GatewayTimeoutError): the intent stays open and is asked about again, never paid blindly."""
    gateway = services_.gateway
    answer: GatewayAnswer | None = gateway.status(key)
    reconciled = answer is not None
    if answer is None:
        answer = gateway.pay(key, request["amount"], services_.cipher.decrypt(request["account_enc"]),
                             request["purpose"])
    return {"key": key, "accepted": answer.accepted, "reference": answer.reference, "reason": answer.reason,
            "amount": None if answer.amount is None else str(money(answer.amount)), "reconciled": reconciled}


PAYMENT = EffectKind("payment", _describe, call_gateway)


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
EFFECT_KINDS = [PAYMENT]
