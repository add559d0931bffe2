"""Termination controls: where a refund may go, the customer's confirmation of the amount (a one-time code
sent to the holder's registered phone, which the agent does not have), and what a sale learns of its policy.

None of these trusts what a request or a message says: each reads the records."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from sqlalchemy import select

from engine.registry import HandlerContext

from ..common import money, services
from ..crypto import PersonalDataCipher
from ..office_records import NotificationRecord
from ..records import CustomerRecord, PolicyRecord
from ..refund_accounts import BANK_NAME_CHECK, RefundAccount, refund_account, verify_with_bank
from ..termination_requests import close_request
from ..timeline import queue_notification

CODE_DIGITS = 6


def check_refund_account(ctx: HandlerContext, policy_id: int, refund_to: str, payee_account: str) -> dict[str, Any]:
    """Whether the refund may go where the request says: the premium's own account, or a verified account in
    the holder's name; never a staff member's account. An account of the holder's not yet verified goes through
    the bank's account-name verification: a match makes it a verified account of the holder
    (`account_verification` `bank_name_check`, kept for later refunds), a mismatch refuses it with the bank's
    reason. The account itself stays out of the result."""
    policy = _policy(ctx, policy_id)
    domain = services(ctx)
    found = refund_account(ctx.session, domain.cipher, policy, refund_to, payee_account)
    verification = None
    if found.reasons == ("not_holders_account",) and (payee_account or "").strip():
        holder = ctx.session.get(CustomerRecord, policy.holder_id)
        if holder is None:
            raise LookupError(f"the holder of policy {policy.number} is not on record")
        refusal = verify_with_bank(ctx.session, domain.cipher, domain.account_names, holder, payee_account,
                                   ctx.now())
        if refusal is None:
            verification = BANK_NAME_CHECK
            found = refund_account(ctx.session, domain.cipher, policy, refund_to, payee_account)
        else:
            found = RefundAccount(None, None, (refusal,))
    return {"allowed": found.account is not None, "source": found.source, "account_last4": found.last4,
            "reasons": list(found.reasons), "account_verification": verification}


def send_termination_quote(ctx: HandlerContext, policy_id: int, request_type: str, refund_amount: float,
                           premiums_paid: float, policy_year: int, in_cooling_off: bool, cancellation_fee: float,
                           account_last4: str) -> dict[str, Any]:
    """Text the holder's registered phone the refund, how it was computed and a one-time code (once per step);
    the case keeps only the code's keyed hash, and the outbox the code encrypted until the text is sent."""
    policy = _policy(ctx, policy_id)
    holder = ctx.session.get(CustomerRecord, policy.holder_id)
    if holder is None or holder.phone_enc is None:
        raise LookupError(f"the holder of policy {policy.number} has no registered phone to confirm by")
    cipher = services(ctx).cipher
    sent = ctx.session.scalar(select(NotificationRecord)
                              .where(NotificationRecord.idempotency_key == ctx.idempotency_key))
    # A retried step sends nothing new: the code already queued stays the one to give back.
    code = (_queued_code(cipher, sent) if sent is not None
            else f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}")
    basis = ("premiums_paid_minus_fee" if in_cooling_off else "surrender_value")
    params = {"policy_number": policy.number, "request_type": request_type, "refund": money(refund_amount),
              "premiums_paid": money(premiums_paid), "policy_year": int(policy_year), "basis": basis,
              "cancellation_fee": money(cancellation_fee) if in_cooling_off else money(0),
              "account_last4": account_last4, "one_time_code": code}
    # The code never lies in the outbox in clear: encrypted until the sender takes it (tasks/outbox_sender.py),
    # which then drops it from the stored message.
    queue_notification(ctx.session, ctx.idempotency_key, holder.id, "termination_quote",
                       cipher.protect("notification", params), ctx.now())
    phone = cipher.decrypt(holder.phone_enc)
    return {"code_hash": cipher.lookup_hash(code), "phone_last4": phone[-4:], "basis": basis}


def _queued_code(cipher: PersonalDataCipher, sent: NotificationRecord) -> str:
    """The code of a quote queued by an earlier run of the same step (only while it waits to be sent)."""
    sealed = sent.params.get("one_time_code")
    if sealed is None:
        raise LookupError("the refund quote was already texted and its code is no longer kept: ask for a new quote")
    return str(cipher.reveal("notification", {"one_time_code": sealed})["one_time_code"])


def check_confirmation_code(ctx: HandlerContext, code_hash: str, confirmation_code: str) -> dict[str, Any]:
    """Whether the code the customer gave back is the one texted to the holder's phone."""
    given = services(ctx).cipher.lookup_hash((confirmation_code or "").strip())
    return {"valid": hmac.compare_digest(given, code_hash or "")}


def close_termination_request(ctx: HandlerContext, outcome: str) -> dict[str, Any]:
    """The request of this case ended without terminating the policy (`withdrawn` or `refused`): it no longer
    holds the sale's confirmation."""
    return {"status": close_request(ctx.session, ctx.instance_id, outcome, ctx.now())}


def policy_standing(ctx: HandlerContext, policy_id: int) -> dict[str, Any]:
    """The policy as its record has it: whether it is still in force, and why it ended if it did."""
    policy = _policy(ctx, policy_id)
    return {"in_force": policy.status == "in_force", "terminated_reason": policy.terminated_reason,
            "terminated_on": policy.terminated_on.isoformat() if policy.terminated_on else None}


def _policy(ctx: HandlerContext, policy_id: int) -> PolicyRecord:
    policy = ctx.session.get(PolicyRecord, int(policy_id))
    if policy is None:
        raise LookupError(f"no policy with id {policy_id}")
    return policy


HANDLERS = [check_refund_account, send_termination_quote, check_confirmation_code, close_termination_request,
            policy_standing]
