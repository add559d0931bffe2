"""Claims controls (issue 12): an unmatched report closed with a notice, confirmed fraud recorded with the
police report's reference, the policy's rescission review, and a payout retried to a corrected account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.registry import HandlerContext

from ..common import business_date, services
from ..fraud import FraudCaseRecord
from ..records import ClaimRecord, PolicyRecord
from .claims import _claim, _claimant, _policy
from .termination import _terminate

RESCISSION_OUTCOMES = ("rescind", "keep")
ACCOUNT_CHECKS = ("bank_name_check", "bank_card_with_id")


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
    account = "".join((payee_account or "").split())
    if not account.isdigit() or not 12 <= len(account) <= 19:
        raise ValueError("a corrected payee account is 12 to 19 digits")
    claim: ClaimRecord = _claim(ctx.session, claim_id)
    cipher = services(ctx).cipher
    digest = cipher.lookup_hash(account)
    changed = digest != claim.payee_account_hash
    if changed:
        claim.payee_account_enc, claim.payee_account_hash = cipher.encrypt(account), digest
        ctx.session.flush()
    return {"changed": changed, "verified_by": verified_by}


HANDLERS = [close_unmatched_report, record_fraud, record_rescission_review, change_claim_payee]
