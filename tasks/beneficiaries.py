"""Beneficiaries of a policy's death benefit: who they are, how a designation is checked, and who may
claim it.

A policy names its beneficiaries (name, ID number, relation to the insured, share in percent; the shares
of the named beneficiaries add up to 100) or leaves the benefit to the insured's legal heirs (法定继承人).
With no named beneficiary the benefit is the insured's estate and goes to the legal heirs (Insurance Law
of the PRC art. 42); shares not stated are equal (art. 40); the policyholder or the insured may change the
beneficiaries by written notice, which the insurer endorses on the policy (art. 41).

ID numbers are kept only encrypted with their keyed hash (tasks/crypto.py), so that a claimant is found
among the beneficiaries by the hash of the ID number they give."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, Numeric, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.registry import FieldProblem

from .common import CENT
from .crypto import PersonalDataCipher
from .idcard import parse_id_number
from .records import ClaimRecord, CustomerRecord, DomainBase, PolicyRecord, UTCDateTime

NAMED, LEGAL_HEIRS = "named", "legal_heirs"
DESIGNATIONS = (NAMED, LEGAL_HEIRS)
# The relation of a named beneficiary to the insured (the forms' enum says the same).
RELATIONS = ("spouse", "child", "parent", "sibling", "grandparent", "grandchild", "other")
MAX_BENEFICIARIES = 10
WHOLE = Decimal("100")
# The form keyword of the array of named beneficiaries; its value names the designation field of the form.
BENEFICIARIES_KEYWORD = "x-beneficiaries"
DEATH_CLAIM = "death"
# What a legal heir shows for a death claim: the death certificate and proof of the relationship to the insured.
HEIR_PROOF = ("death_certificate", "proof_of_relationship")


class BeneficiaryRecord(DomainBase):
    """One named beneficiary of a policy, in the order designated."""

    __tablename__ = "policy_beneficiaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    relation: Mapped[str] = mapped_column(String(20))
    share: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    designated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BeneficiaryChangeRecord(DomainBase):
    """An endorsement changing a policy's beneficiaries: who did it, when, why, before and after (ID numbers
    only as their last four characters)."""

    __tablename__ = "beneficiary_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any]] = mapped_column()
    after: Mapped[dict[str, Any]] = mapped_column()


# --- checking a designation ------------------------------------------------------------------------

def designation_problems(designation: Any, beneficiaries: Any, today: date,
                         field: str = "beneficiaries") -> dict[str, FieldProblem]:
    """Field path → message for everything wrong with a designation; empty when it may be recorded."""
    if designation not in DESIGNATIONS:
        return {"beneficiary_designation": FieldProblem("enum", f"must be one of {', '.join(DESIGNATIONS)}",
                                                        {"value": list(DESIGNATIONS)})}
    people = beneficiaries if beneficiaries is not None else []
    if not isinstance(people, list) or not all(isinstance(p, Mapping) for p in people):
        return {field: FieldProblem("type", "must be a list of beneficiaries", {"value": "array"})}
    if designation == LEGAL_HEIRS:
        return {field: FieldProblem("heirs_named", "must be empty when the benefit goes to the legal heirs")
                } if people else {}
    if not people:
        return {field: FieldProblem("no_beneficiary", "name at least one beneficiary, or choose the legal heirs")}
    if len(people) > MAX_BENEFICIARIES:
        return {field: FieldProblem("maxItems", f"at most {MAX_BENEFICIARIES} beneficiaries",
                                    {"value": MAX_BENEFICIARIES})}
    problems: dict[str, FieldProblem] = {}
    seen: dict[str, int] = {}
    total = Decimal("0")
    for index, person in enumerate(people):
        where = f"{field}.{index}"
        if not str(person.get("name") or "").strip():
            problems[f"{where}.name"] = FieldProblem("required", "is required")
        number = str(person.get("id_number") or "")
        check = parse_id_number(number, today)
        if not check.valid:  # the reason names the flaw, never the number itself
            problems[f"{where}.id_number"] = FieldProblem(
                "invalid_id_number", f"is not a valid resident ID number ({', '.join(check.reasons)})")
        else:
            key = "".join(number.split()).upper()
            if key in seen:
                problems[f"{where}.id_number"] = FieldProblem(
                    "same_beneficiary", f"is the same person as beneficiary {seen[key] + 1}", {"n": seen[key] + 1})
            seen.setdefault(key, index)
        if person.get("relation") not in RELATIONS:
            problems[f"{where}.relation"] = FieldProblem("enum", f"must be one of {', '.join(RELATIONS)}",
                                                          {"value": list(RELATIONS)})
        share = _share(person.get("share"))
        if share is None or not Decimal("0") < share <= WHOLE:
            problems[f"{where}.share"] = FieldProblem("share_range", "must be a percentage above 0 and at most 100")
        else:
            total += share
    if not problems and total != WHOLE:
        problems[field] = FieldProblem("shares_total", f"the shares add up to {total.normalize():f} %, not 100 %",
                                       {"total": f"{total.normalize():f}"})
    return problems


def _share(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        share = Decimal(str(value))
    except InvalidOperation:
        return None
    return share.quantize(Decimal("0.01")) if share.is_finite() else None


def form_problems(session: Session, schema: Mapping[str, Any], data: Mapping[str, Any], today: date
                  ) -> dict[str, FieldProblem]:
    """Field → problem for every form field marked `x-beneficiaries` whose designation is wrong."""
    problems: dict[str, FieldProblem] = {}
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get(BENEFICIARIES_KEYWORD), str):
            continue
        designation_field = spec[BENEFICIARIES_KEYWORD]
        if designation_field not in data:
            continue  # the schema says whether it is required
        for path, message in designation_problems(data[designation_field], data.get(name), today, name).items():
            problems.setdefault(designation_field if path == "beneficiary_designation" else path, message)
    return problems


# --- recording and reading a designation --------------------------------------------------------------

def designate(session: Session, cipher: PersonalDataCipher, policy: PolicyRecord, beneficiaries: Iterable[Mapping],
              at: datetime) -> None:
    """Replace the policy's named beneficiaries (none: the legal heirs); the designation was checked before."""
    for old in named_beneficiaries(session, policy.id):
        session.delete(old)
    session.flush()
    for position, person in enumerate(beneficiaries, start=1):
        number = "".join(str(person["id_number"]).split()).upper()
        session.add(BeneficiaryRecord(
            policy_id=policy.id, position=position, name=str(person["name"]).strip(),
            id_number_enc=cipher.encrypt(number), id_number_hash=cipher.lookup_hash(number),
            relation=str(person["relation"]), share=_share(person["share"]), designated_at=at))
    session.flush()


def named_beneficiaries(session: Session, policy_id: int) -> list[BeneficiaryRecord]:
    """The policy's named beneficiaries in order; empty when the benefit goes to the legal heirs."""
    return list(session.scalars(select(BeneficiaryRecord).where(BeneficiaryRecord.policy_id == policy_id)
                                .order_by(BeneficiaryRecord.position)))


def designation_of(session: Session, cipher: PersonalDataCipher, policy_id: int) -> dict[str, Any]:
    """The designation as process data: `beneficiary_designation` and `beneficiaries` (ID numbers in clear —
    personal fields, masked by whoever shows them)."""
    people = named_beneficiaries(session, policy_id)
    return {"beneficiary_designation": NAMED if people else LEGAL_HEIRS,
            "beneficiaries": [{"name": b.name, "id_number": cipher.decrypt(b.id_number_enc),
                               "relation": b.relation, "share": b.share} for b in people]}


def summary(designation: Mapping[str, Any]) -> dict[str, Any]:
    """A designation as a change record keeps it: ID numbers reduced to their last four characters."""
    return {"beneficiary_designation": designation["beneficiary_designation"],
            "beneficiaries": [{"name": b["name"], "id_last4": str(b["id_number"])[-4:], "relation": b["relation"],
                               "share": Decimal(str(b["share"])).quantize(CENT)} for b in designation["beneficiaries"]]}


def changes_of(session: Session, policy_id: int) -> list[BeneficiaryChangeRecord]:
    """The policy's beneficiary changes, oldest first."""
    return list(session.scalars(select(BeneficiaryChangeRecord).where(BeneficiaryChangeRecord.policy_id == policy_id)
                                .order_by(BeneficiaryChangeRecord.id)))


# --- who may claim the death benefit --------------------------------------------------------------

def claimant_problems(session: Session, claim: ClaimRecord, policy: PolicyRecord,
                      documents: Iterable[str]) -> tuple[list[str], list[str]]:
    """(reasons, documents missing) about the claimant's right to claim; empty when the claimant is entitled.

    The insured claims their own losses. A death benefit goes to a named beneficiary — found by the keyed
    hash of the ID number, for no more than their share of the sum insured — or, when nobody is
    named, to a legal heir who has shown the death certificate and proof of the relationship. Anything else
    is for a person to judge: `claimant_not_covered` (not listed), `share_exceeded` (more than the share),
    `relationship_unproven` (an heir without the proof)."""
    # Customer ids on the policy itself (policies made before named beneficiaries were recorded).
    if claim.claimant_id == policy.insured_id or claim.claimant_id in (policy.beneficiary_ids or []):
        return [], []
    if claim.claim_type != DEATH_CLAIM:
        return ["claimant_not_covered"], []
    claimant = session.get(CustomerRecord, claim.claimant_id)
    named = named_beneficiaries(session, policy.id)
    if named:
        match = next((b for b in named if claimant is not None and b.id_number_hash == claimant.id_number_hash),
                     None)
        if match is None:
            return ["claimant_not_covered"], []
        # The share is of the death benefit; what is left of the cover is checked at the assessment.
        entitled = policy.sum_insured * match.share / WHOLE
        return (["share_exceeded"] if claim.claimed_amount > entitled else []), []
    missing = sorted(set(HEIR_PROOF) - set(documents))
    return (["relationship_unproven"], missing) if missing else ([], [])


def beneficiary_share(session: Session, claim: ClaimRecord, policy: PolicyRecord) -> Decimal | None:
    """The most a death claim by a named beneficiary may be paid: their share of the sum insured (whatever a
    reviewer accepted at verification). None for any other claim — the insured's own, a legal heir's, or a
    beneficiary listed on the policy before shares were recorded."""
    if claim.claim_type != DEATH_CLAIM or claim.claimant_id == policy.insured_id:
        return None
    claimant = session.get(CustomerRecord, claim.claimant_id)
    if claimant is None:
        return None
    match = next((b for b in named_beneficiaries(session, policy.id) if b.id_number_hash == claimant.id_number_hash),
                 None)
    return None if match is None else policy.sum_insured * match.share / WHOLE


def still_owed(session: Session, policy: PolicyRecord) -> Decimal:
    """After the insured's death: the shares of the death benefit of the named beneficiaries not yet paid on a
    death claim of the policy (each claims their own); nothing when the benefit went to the legal heirs."""
    paid = set(session.scalars(select(CustomerRecord.id_number_hash).join(
        ClaimRecord, ClaimRecord.claimant_id == CustomerRecord.id).where(
        ClaimRecord.policy_id == policy.id, ClaimRecord.claim_type == DEATH_CLAIM,
        ClaimRecord.paid_amount.is_not(None))))
    shares = sum((b.share for b in named_beneficiaries(session, policy.id) if b.id_number_hash not in paid),
                 Decimal("0"))
    return policy.sum_insured * shares / WHOLE
