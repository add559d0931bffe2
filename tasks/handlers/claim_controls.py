"""Claims controls (issue 12): an unmatched report closed with a notice, confirmed fraud recorded with the
police report's reference, the policy's rescission review, and a payout retried to a corrected account — only
one the claimant holds (the bank's account-name verification, or an account verified at a counter)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.registry import HandlerContext

from ..common import business_date, services
from ..fraud import FraudCaseRecord
from ..records import ClaimRecord, CustomerRecord, PolicyRecord
from ..refund_accounts import HolderAccountRecord, StaffAccountRecord
from .claims import _claim, _claimant, _policy
from .termination import _terminate

RESCISSION_OUTCOMES = ("rescind", "keep")
# How a corrected account was found to be the claimant's: the bank's account-name verification, an account verified
# at a counter (holder_accounts), or — older versions of the diagram — the card shown with the ID card.
ACCOUNT_CHECKS = ("bank_name_check", "holder_account", "bank_card_with_id")
# What finance reads when a corrected account is refused, per reason.
PAYEE_REFUSALS = {
    "staff_account": "the account is registered to a member of our staff; a claim is never paid to it.",
    "name_mismatch": "the bank says the account is held in another name than the claimant's. Ask the claimant for "
                     "an account in their own name.",
    "name_unconfirmed": "the bank could not confirm whose name the account is in. Ask the claimant for another "
                        "account in their own name, or have them show the bank card with their ID card at a counter "
                        "so that the account is recorded as theirs.",
}


def close_unmatched_report(ctx: HandlerContext, claimant_name: str, claimant_id_number: str,
                           region: str) -> dict[str, Any]:
    """A report the clerk could not match to any policy is closed: the claimant (a customer made from a
    valid ID number, as at any registration) is who the notice goes to — none when the number is invalid."""
    claimant = _claimant(ctx, claimant_name, claimant_id_number, region)
    return {"customer_id": None if isinstance(claimant, str) else claimant.id}


def record_fraud(ctx: HandlerContext, claim_id: int, finding: str, police_report_reference: str) -> dict[str, Any]:
    """Record confirmed fraud on a claim with the police report's reference, its rescission review pending
    (once per claim)."""
    reference = (police_report_reference or "").strip()
    if not reference:
        raise ValueError("confirmed fraud needs the police report's reference")
    claim = _claim(ctx.session, claim_id)
    policy = _policy(ctx.session, claim.policy_id)
    case = ctx.session.scalar(select(FraudCaseRecord).where(FraudCaseRecord.claim_id == claim.id))
    if case is None:
        case = FraudCaseRecord(claim_id=claim.id, policy_id=policy.id, finding=finding,
                               police_report_reference=reference, recorded_at=ctx.now(), rescission_outcome="pending")
        ctx.session.add(case)
        ctx.session.flush()
    return {"fraud_case_id": case.id, "policy_number": policy.number}


def record_rescission_review(ctx: HandlerContext, claim_id: int, outcome: str, note: str) -> dict[str, Any]:
    """The underwriter's rescission review of the policy of a claim denied for fraud: `rescind` ends the policy
    today (Insurance Law art. 27; the holder is told), `keep` leaves it in force. Recorded once."""
    if outcome not in RESCISSION_OUTCOMES:
        raise ValueError(f"a rescission review ends in {' or '.join(RESCISSION_OUTCOMES)}, not {outcome!r}")
    session = ctx.session
    case = session.scalar(select(FraudCaseRecord).where(FraudCaseRecord.claim_id == int(claim_id)))
    if case is None:
        raise LookupError(f"no confirmed fraud recorded on claim {claim_id}")
    policy = session.get(PolicyRecord, case.policy_id)
    if case.rescission_outcome == "pending":
        case.rescission_outcome, case.rescission_note, case.rescission_decided_at = outcome, note, ctx.now()
        if outcome == "rescind":
            _terminate(ctx, policy, "rescinded", business_date(ctx))
        session.flush()
    return {"outcome": case.rescission_outcome, "policy_status": policy.status}


def change_claim_payee(ctx: HandlerContext, claim_id: int, payee_account: str, verified_by: str) -> dict[str, Any]:
    """Finance's corrected payee account for a claim whose payout was declined, verified as the claimant's own
    (how: `verified_by`); the next payment attempt goes to it."""
    if verified_by not in ACCOUNT_CHECKS:
        raise ValueError(f"a corrected account is verified by {' or '.join(ACCOUNT_CHECKS)}, not {verified_by!r}")
    account = _account_digits(payee_account)
    claim: ClaimRecord = _claim(ctx.session, claim_id)
    cipher = services(ctx).cipher
    digest = cipher.lookup_hash(account)
    changed = digest != claim.payee_account_hash
    if changed:
        claim.payee_account_enc, claim.payee_account_hash = cipher.encrypt(account), digest
        ctx.session.flush()
    return {"changed": changed, "verified_by": verified_by}


def check_claim_payee(ctx: HandlerContext, claim_id: int, payee_account: str) -> dict[str, Any]:
    """Whether a claim's payout may go to the corrected account finance entered: an account already verified as the
    claimant's at a counter, or one the bank's account-name verification says is held in the claimant's name; never a
    staff member's account. `changed`: another account than the claim's (a new payee, which needs four eyes)."""
    account = _account_digits(payee_account)
    claim: ClaimRecord = _claim(ctx.session, claim_id)
    claimant = ctx.session.get(CustomerRecord, claim.claimant_id)
    if claimant is None:
        raise LookupError(f"claim {claim.number} has no claimant on record")
    svc = services(ctx)
    digest = svc.cipher.lookup_hash(account)
    changed = digest != claim.payee_account_hash
    found: dict[str, Any] = {"changed": changed, "account_last4": account[-4:]}
    staff = ctx.session.scalar(select(StaffAccountRecord.id).where(StaffAccountRecord.account_hash == digest).limit(1))
    if staff is not None:
        return _payee_refused(found, "staff_account")
    if not changed:  # the account the claim already has: retried as it is, no second person
        return {**found, "allowed": True, "verified_by": "claim_account", "reasons": [],
                "explanation": "This is the account the claim already has: the payment is retried to it."}
    held = ctx.session.scalar(select(HolderAccountRecord.id).where(
        HolderAccountRecord.customer_id == claimant.id, HolderAccountRecord.account_hash == digest).limit(1))
    if held is not None:
        return {**found, "allowed": True, "verified_by": "holder_account", "reasons": [],
                "explanation": "The account was verified earlier as the claimant's own (at a counter)."}
    holder = svc.gateway.account_holder_name(account)
    if holder is None:
        return _payee_refused(found, "name_unconfirmed")
    if _same_name(holder, claimant.name):
        return {**found, "allowed": True, "verified_by": "bank_name_check", "reasons": [],
                "explanation": "The bank confirmed the account is held in the claimant's name."}
    return _payee_refused(found, "name_mismatch")


def _payee_refused(found: dict[str, Any], reason: str) -> dict[str, Any]:
    return {**found, "allowed": False, "verified_by": None, "reasons": [reason], "explanation": PAYEE_REFUSALS[reason]}


def _account_digits(payee_account: str) -> str:
    account = "".join((payee_account or "").split())
    if not account.isdigit() or not 12 <= len(account) <= 19:
        raise ValueError("a corrected payee account is 12 to 19 digits")
    return account


def _same_name(bank_name: str, claimant_name: str) -> bool:
    """Names compared as the bank writes them: spaces and letter case aside."""
    return "".join(bank_name.split()).casefold() == "".join(claimant_name.split()).casefold()


HANDLERS = [close_unmatched_report, record_fraud, record_rescission_review, change_claim_payee, check_claim_payee]
