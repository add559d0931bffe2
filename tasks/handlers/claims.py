"""Claims handlers: first notice of loss, verification, fraud features, payout suggestion, status."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from engine.registry import HandlerContext, reads_only
from tasks.beneficiaries import beneficiary_share, claimant_problems
from tasks.common import as_date, business_date, customer_by_id_number, money, services
from tasks.documents import kinds_on_file, link_case_files
from tasks.idcard import parse_id_number
from tasks.numbering import next_in_series
from tasks.records import ClaimDocumentRecord, ClaimRecord, CustomerRecord, PolicyRecord, ProductRecord, WatchListRecord
from tasks.timeline import CLOSED_STATUSES, set_claim_status

# The fraud feature "claims in 12 months" is defined over this window; the DMN table owns the threshold.
CLAIMS_WINDOW = timedelta(days=365)


def open_claim(
    ctx: HandlerContext, policy_number: str, claimant_name: str, claimant_id_number: str, incident_date: str,
    claim_type: str, description: str, claimed_amount: float, documents: list[Any], payee_account: str, region: str,
) -> dict[str, Any]:
    """Register a claim (first notice of loss) once per instance, or correct the one the instance opened (the
    registration came back to the clerk); no such policy → claim_id null with a reason, nothing changed."""
    session = ctx.session
    # The engine's idempotency key changes if the diagram loops, so the instance is the reference:
    # one claims process opens one claim, whatever retries happen.
    existing = session.scalar(select(ClaimRecord).where(ClaimRecord.instance_id == ctx.instance_id))
    if existing is not None and existing.status in CLOSED_STATUSES:
        return _opened(session, existing)
    policy = session.scalar(select(PolicyRecord).where(PolicyRecord.number == policy_number.strip()))
    if policy is None:
        return _not_opened(f"no policy with number {policy_number}")
    claimant = _claimant(ctx, claimant_name, claimant_id_number, region)
    if isinstance(claimant, str):
        return _not_opened(claimant)
    if existing is not None:
        return _correct(ctx, existing, policy, claimant, claimant_id_number, incident_date, claim_type, description,
                        claimed_amount, documents, payee_account, region)
    svc = services(ctx)
    now = ctx.now()
    claim = ClaimRecord(
        # The day's next number from its counter row: registrations at the same moment never race for it.
        number=_next_claim_number(session, business_date(ctx)), policy_id=policy.id, claimant_id=claimant.id,
        incident_date=as_date(incident_date), claim_type=claim_type, description=description or "",
        claimed_amount=money(claimed_amount), payee_account_enc=svc.cipher.encrypt(payee_account),
        payee_account_hash=svc.cipher.lookup_hash(payee_account), region=region,
        # Empty until set_claim_status below, so that "registered" is the timeline's first row.
        status="",
        # The documented second factor of the public status page (last 4 of the ID), not an identifier.
        check_code="".join(claimant_id_number.split())[-4:].upper(), reported_at=now,
        instance_id=ctx.instance_id,
    )
    session.add(claim)
    session.flush()
    _add_documents(session, claim, documents, now)
    set_claim_status(session, claim, "registered", now)
    session.flush()
    return _opened(session, claim)


def _claimant(ctx: HandlerContext, name: str, id_number: str, region: str) -> CustomerRecord | str:
    """The customer with this ID number, made from the number when unknown; or why the number is refused."""
    claimant = customer_by_id_number(ctx.session, services(ctx), id_number)
    if claimant is None:
        check = parse_id_number(id_number, business_date(ctx))
        if not check.valid or check.birth_date is None:  # the reason names the flaw, never the number itself
            return f"the claimant's ID number is not valid ({', '.join(check.reasons)})"
        claimant = _new_customer(ctx, name, id_number, check.birth_date, check.gender, region)
    return claimant


def _correct(
    ctx: HandlerContext, claim: ClaimRecord, policy: PolicyRecord, claimant: CustomerRecord, claimant_id_number: str,
    incident_date: str, claim_type: str, description: str, claimed_amount: float, documents: list[Any],
    payee_account: str, region: str,
) -> dict[str, Any]:
    """Apply a corrected registration to the claim; the opened claim with the names of the fields it changed.
    Running it again with the same registration (a retry) changes nothing."""
    cipher = services(ctx).cipher
    wanted = {
        "policy_id": policy.id, "claimant_id": claimant.id, "incident_date": as_date(incident_date),
        "claim_type": claim_type, "description": description or "", "claimed_amount": money(claimed_amount),
        "region": region, "payee_account_hash": cipher.lookup_hash(payee_account),
        "check_code": "".join(claimant_id_number.split())[-4:].upper(),
    }
    changed = [name for name, value in wanted.items() if getattr(claim, name) != value]
    for name in changed:
        setattr(claim, name, wanted[name])
    if "payee_account_hash" in changed:
        claim.payee_account_enc = cipher.encrypt(payee_account)
    _add_documents(ctx.session, claim, documents, ctx.now())
    ctx.session.flush()
    names = {"policy_id": "policy_number", "claimant_id": "claimant", "payee_account_hash": "payee_account"}
    return {**_opened(ctx.session, claim), "corrected": [names.get(n, n) for n in changed]}


def record_documents(ctx: HandlerContext, claim_id: int, documents: list[Any]) -> dict[str, Any]:
    """Add the documents not yet on file for a claim: the kinds ticked and the files uploaded for the case."""
    claim = _claim(ctx.session, claim_id)
    _add_documents(ctx.session, claim, documents, ctx.now())
    return {"documents": kinds_on_file(ctx.session, claim.id)}


def verify_claim(
    ctx: HandlerContext, claim_id: int, waiting_days: int, required_documents: list[str],
) -> dict[str, Any]:
    """Check a claim against its policy and list every failed check, not just the first."""
    session = ctx.session
    claim = _claim(session, claim_id)
    policy = _policy(session, claim.policy_id)
    product = _product(session, policy.product_code)
    reasons: list[str] = []
    incident = claim.incident_date
    terminated_before = policy.status == "terminated" and (policy.terminated_on is None
                                                           or policy.terminated_on < incident)
    if not policy.start_date <= incident <= policy.end_date or terminated_before:
        reasons.append("policy_not_in_force")
    elif (incident - policy.start_date).days < int(waiting_days):
        reasons.append("waiting_period")
    if claim.claim_type not in (product.claim_types or []):
        reasons.append("claim_type_not_covered")
    on_file = kinds_on_file(session, claim.id)
    # Who may claim: the insured, a named beneficiary, or a legal heir with proof (tasks/beneficiaries.py).
    claimant_reasons, heir_missing = claimant_problems(session, claim, policy, on_file)
    reasons += claimant_reasons
    missing = sorted(set(required_documents or []) - set(on_file))
    if missing:
        reasons.append("documents_missing")
    if _has_open_duplicate(session, claim):
        reasons.append("duplicate")
    only_documents = reasons == ["documents_missing"]
    missing = sorted(set(missing) | set(heir_missing))
    set_claim_status(session, claim, "documents_requested" if only_documents else "under_review", ctx.now())
    session.flush()
    return {"verified": not reasons, "reasons": reasons, "missing_documents": missing,
            "only_documents_missing": only_documents}


@reads_only
def fraud_features(ctx: HandlerContext, claim_id: int) -> dict[str, Any]:
    """The features fraud_screening.dmn scores a claim on."""
    session = ctx.session
    claim = _claim(session, claim_id)
    policy = _policy(session, claim.policy_id)
    claimant = session.get(CustomerRecord, claim.claimant_id)
    ratio = claim.claimed_amount / policy.sum_insured if policy.sum_insured else Decimal("0")
    # The window counts earlier claims and those on the same day, never later ones: a re-screening
    # must not change because of claims reported after this incident.
    claims_12m = session.scalar(select(func.count(ClaimRecord.id)).where(
        ClaimRecord.claimant_id == claim.claimant_id, ClaimRecord.id != claim.id,
        ClaimRecord.incident_date >= claim.incident_date - CLAIMS_WINDOW,
        ClaimRecord.incident_date <= claim.incident_date))
    shared = session.scalar(select(func.count(ClaimRecord.id)).where(
        ClaimRecord.payee_account_hash == claim.payee_account_hash, ClaimRecord.claimant_id != claim.claimant_id))
    listed = watch_listed(session, claim.payee_account_hash, claimant)
    return {"days_since_start": (claim.incident_date - policy.start_date).days,
            "amount_ratio": round(ratio, 4), "claims_12m": int(claims_12m or 0),
            "shared_account": bool(shared), "watch_listed": listed}


def suggest_payout(ctx: HandlerContext, claim_id: int, loss_amount: float) -> dict[str, Any]:
    """The adjuster's suggestion: covered loss minus the deductible, capped by the remaining sum insured (and a
    named beneficiary's death claim by their share of the sum insured)."""
    session = ctx.session
    claim = _claim(session, claim_id)
    policy = _policy(session, claim.policy_id)
    deductible = _product(session, policy.product_code).deductible
    loss = money(loss_amount)
    remaining = max(policy.remaining_sum_insured, Decimal("0"))
    suggested = min(max(loss - deductible, Decimal("0")), remaining)
    share = beneficiary_share(session, claim, policy)
    if share is not None:
        suggested = min(suggested, money(share))
    set_claim_status(session, claim, "assessing", ctx.now())
    session.flush()
    return {"suggested_amount": money(suggested), "covered_loss": money(loss),
            "deductible": money(deductible), "remaining_sum_insured": money(remaining)}


def update_claim_status(ctx: HandlerContext, claim_id: int, status: str) -> dict[str, Any]:
    """Move a claim to a status of the customer-facing timeline."""
    claim = _claim(ctx.session, claim_id)
    set_claim_status(ctx.session, claim, status, ctx.now())
    ctx.session.flush()
    return {"status": claim.status}


def close_claim(ctx: HandlerContext, claim_id: int, status: str, reason: str) -> dict[str, Any]:
    """Close a claim as rejected, withdrawn or unpaid (approved, the payout cancelled), recording the reason."""
    if status not in ("rejected", "withdrawn", "unpaid"):
        raise ValueError(f"a claim is closed as rejected, withdrawn or unpaid, not {status!r}")
    claim = _claim(ctx.session, claim_id)
    if claim.status not in CLOSED_STATUSES:  # a retry or a late timer must not rewrite a closed claim
        claim.rejection_reason = reason
        set_claim_status(ctx.session, claim, status, ctx.now())
        ctx.session.flush()
    return {"status": claim.status}


def watch_listed(session: Session, account_hash: str | None, person: CustomerRecord | None) -> bool:
    """Whether an account or a person (by ID number hash or name) is on the watch list."""
    conditions = []
    if account_hash:
        conditions.append(WatchListRecord.account_hash == account_hash)
    if person is not None:
        conditions += [WatchListRecord.id_number_hash == person.id_number_hash, WatchListRecord.name == person.name]
    if not conditions:
        return False
    return session.scalar(select(WatchListRecord.id).where(or_(*conditions)).limit(1)) is not None


def _claim(session: Session, claim_id: int) -> ClaimRecord:
    claim = session.get(ClaimRecord, int(claim_id))
    if claim is None:
        raise LookupError(f"no claim with id {claim_id}")
    return claim


def _policy(session: Session, policy_id: int) -> PolicyRecord:
    policy = session.get(PolicyRecord, int(policy_id))
    if policy is None:
        raise LookupError(f"no policy with id {policy_id}")
    return policy


def _product(session: Session, code: str) -> ProductRecord:
    product = session.get(ProductRecord, code)
    if product is None:
        raise LookupError(f"no product with code {code}")
    return product


def _opened(session: Session, claim: ClaimRecord) -> dict[str, Any]:
    policy = _policy(session, claim.policy_id)
    return {"claim_id": claim.id, "claim_number": claim.number, "business_key": claim.number,
            "product_line": _product(session, policy.product_code).line, "customer_id": claim.claimant_id,
            "reason": None}


def _not_opened(reason: str) -> dict[str, Any]:
    return {"claim_id": None, "claim_number": None, "product_line": None, "customer_id": None, "reason": reason}


def _next_claim_number(session: Session, day: date) -> str:
    """"C" + yyyymmdd + the day's next number from its counter row (tasks/numbering.py)."""
    return f"C{day:%Y%m%d}{next_in_series(session, f'claim:{day:%Y%m%d}'):06d}"


def _new_customer(
    ctx: HandlerContext, name: str, id_number: str, birth: date, gender: str | None, region: str,
) -> CustomerRecord:
    cipher = services(ctx).cipher
    value = "".join(id_number.split()).upper()
    customer = CustomerRecord(
        name=name.strip(), id_number_enc=cipher.encrypt(value), id_number_hash=cipher.lookup_hash(value),
        birth_date=birth, gender=gender, region=region,
        # Reporting a claim is the claimant's consent to processing the data the claim needs.
        consent_at=ctx.now(), created_at=ctx.now(),
    )
    ctx.session.add(customer)
    ctx.session.flush()
    return customer


def _kinds(documents: list[Any]) -> set[str]:
    """Document kinds from a form's list: plain names, or objects with a `kind`."""
    kinds = {d.get("kind") if isinstance(d, dict) else d for d in documents or []}
    return {str(k).strip() for k in kinds if k and str(k).strip()}


def _add_documents(session: Session, claim: ClaimRecord, documents: list[Any], at: Any) -> None:
    # Files uploaded for the case count as their kind; a ticked kind without a file is one row of its own.
    link_case_files(session, claim.id, claim.instance_id)
    new = sorted(_kinds(documents) - set(kinds_on_file(session, claim.id)))
    if new:  # one statement for all of them
        session.execute(insert(ClaimDocumentRecord), [
            {"claim_id": claim.id, "instance_id": claim.instance_id, "kind": kind, "received_at": at} for kind in new])


def _has_open_duplicate(session: Session, claim: ClaimRecord) -> bool:
    # Only an earlier claim makes this one a duplicate: the first notice stays valid when a second
    # one for the same loss comes in, so the two never reject each other.
    other = session.scalar(select(ClaimRecord.id).where(
        ClaimRecord.policy_id == claim.policy_id, ClaimRecord.incident_date == claim.incident_date,
        ClaimRecord.claim_type == claim.claim_type, ClaimRecord.id < claim.id,
        ClaimRecord.status.not_in(CLOSED_STATUSES)).limit(1))
    return other is not None


HANDLERS = [open_claim, record_documents, verify_claim, fraud_features, suggest_payout, update_claim_status,
            close_claim]
