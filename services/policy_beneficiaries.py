"""The policy's beneficiaries for staff: one call to show them, one to change them (an endorsement on written
notice of the policyholder or insured, Insurance Law art. 41). Each opens its own unit of work and checks
once who may act; a change and its `record_changed` event in the sale's history commit together."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import ConflictError, FieldProblem, ForbiddenError, InvalidInputError, NotFoundError
from engine.workflow import Actor, Runtime, change_with_note
from engine.workflow.models import HumanTaskModel, InstanceModel
from tasks.beneficiaries import (
    BeneficiaryChangeRecord,
    changes_of,
    designate,
    designation_of,
    designation_problems,
    summary,
)
from tasks.common import BUSINESS_TZ
from tasks.records import CustomerRecord, PolicyRecord, ProductRecord
from tasks.services import DomainServices

# Policy administration endorses any policy; an agent only the policies they sold.
ENDORSERS = frozenset({"underwriter", "senior_underwriter"})
SELLERS = frozenset({"agent"})
# Who may see a policy's beneficiaries besides them: claims staff (who pays them), compliance, auditors.
READERS = frozenset({"compliance", "claims_clerk", "adjuster", "claims_manager", "siu", "auditor", "admin"})
MAX_REASON = 2000
FIELDS = ("beneficiary_designation", "beneficiaries", "reason", "written_request")


@dataclass(frozen=True)
class PolicyBeneficiaries:
    """A policy with its beneficiaries (ID numbers in clear: the face masks them by role) and their changes."""

    number: str
    product: str
    status: str
    holder: str
    start_date: date
    end_date: date
    sum_insured: Decimal
    instance_id: int | None
    beneficiary_designation: str
    beneficiaries: list[dict[str, Any]]
    changes: list[dict[str, Any]] = field(default_factory=list)
    may_change: bool = False


def show_beneficiaries(rt: Runtime, actor: Actor, number: str) -> PolicyBeneficiaries:
    """The policy's beneficiaries, for someone who may see the policy."""
    with rt.uow(read_only=True) as uow:
        policy = _policy(uow.session, number)
        if not (_may_change(uow.session, actor, policy) or actor.has_any(READERS)):
            raise ForbiddenError(f"{actor.username} may not see policy {policy.number}")
        return _view(uow.session, _cipher(rt), actor, policy)


def change_beneficiaries(rt: Runtime, actor: Actor, number: str, data: Any) -> PolicyBeneficiaries:
    """Record a new designation for a policy in force; 403 for who may not, 422 for a bad designation (nothing
    changes), 409 for a policy no longer in force."""
    if not isinstance(data, dict):
        raise InvalidInputError("the change must be a JSON object", {"fields": {"": "expected an object"}})
    with rt.uow(read_only=True) as uow:
        policy = _policy(uow.session, number)
        if not _may_change(uow.session, actor, policy):
            raise ForbiddenError(f"{actor.username} may not change the beneficiaries of policy {policy.number}: "
                                 "that needs an underwriter, or the agent who sold it")
        instance_id = policy.instance_id
    today = rt.clock().astimezone(BUSINESS_TZ).date()
    _check(data, today)
    cipher = _cipher(rt)

    def change(session: Session) -> tuple[PolicyBeneficiaries, dict[str, Any]]:
        policy = _policy(session, number)
        if policy.status != "in_force":
            raise ConflictError(f"policy {policy.number} is {policy.status}: its beneficiaries can no longer change")
        before = summary(designation_of(session, cipher, policy.id))
        named = data["beneficiaries"] if data["beneficiary_designation"] == "named" else []
        now: datetime = rt.clock()
        designate(session, cipher, policy, named, now)
        after = summary(designation_of(session, cipher, policy.id))
        reason = str(data["reason"]).strip()
        session.add(BeneficiaryChangeRecord(policy_id=policy.id, changed_by=actor.username, changed_at=now,
                                            reason=reason, before=before, after=after))
        session.flush()
        note = {"record": "policy_beneficiaries", "policy_number": policy.number, "reason": reason,
                "before": before, "after": after}
        return _view(session, cipher, actor, policy), note

    return change_with_note(rt, actor, instance_id, change)


def _check(data: dict[str, Any], today: date) -> None:
    """Every problem of the submitted change as a field error (422)."""
    problems: dict[str, str | FieldProblem] = {k: FieldProblem("unknown_field", "is not a field of this change")
                                               for k in data if k not in FIELDS}
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        problems["reason"] = FieldProblem("required", "is required: say what the policyholder or insured asked for")
    elif len(reason) > MAX_REASON:
        problems["reason"] = FieldProblem("maxLength", f"at most {MAX_REASON} characters", {"value": MAX_REASON})
    if data.get("written_request") is not True:
        problems["written_request"] = FieldProblem(
            "const", "the written request of the policyholder or insured must be on file", {"value": True})
    designation = data.get("beneficiary_designation")
    if designation is None:
        problems["beneficiary_designation"] = FieldProblem("required", "is required")
    else:
        problems.update(designation_problems(designation, data.get("beneficiaries"), today))
    if problems:
        raise InvalidInputError.for_fields(problems)


def _policy(session: Session, number: str) -> PolicyRecord:
    found = session.scalar(select(PolicyRecord).where(PolicyRecord.number == "".join(str(number).split()).upper()))
    if found is None:
        raise NotFoundError(f"no policy {number}")
    return found


def _sold_by(session: Session, actor: Actor, policy: PolicyRecord) -> bool:
    """Whether the actor started the sale that issued the policy or did one of its steps."""
    if policy.instance_id is None:
        return False
    started = session.scalar(select(InstanceModel.id).where(InstanceModel.id == policy.instance_id,
                                                            InstanceModel.started_by == actor.username))
    if started is not None:
        return True
    done = session.scalar(select(func.count()).select_from(HumanTaskModel).where(
        HumanTaskModel.instance_id == policy.instance_id, HumanTaskModel.completed_by == actor.username))
    return bool(done)


def _may_change(session: Session, actor: Actor, policy: PolicyRecord) -> bool:
    return actor.has_any(ENDORSERS) or (actor.has_any(SELLERS) and _sold_by(session, actor, policy))


def _cipher(rt: Runtime) -> Any:
    if not isinstance(rt.services, DomainServices):
        raise RuntimeError("policy changes need DomainServices (wired by insureflow.bootstrap)")
    return rt.services.cipher


def _view(session: Session, cipher: Any, actor: Actor, policy: PolicyRecord) -> PolicyBeneficiaries:
    holder = session.get(CustomerRecord, policy.holder_id)
    product = session.get(ProductRecord, policy.product_code)
    designation = designation_of(session, cipher, policy.id)
    changes = [{"changed_by": c.changed_by, "changed_at": c.changed_at.isoformat(), "reason": c.reason,
                "before": c.before, "after": c.after} for c in changes_of(session, policy.id)]
    return PolicyBeneficiaries(
        policy.number, f"{policy.product_code} {product.name if product else ''}".strip(), policy.status,
        holder.name if holder else "", policy.start_date, policy.end_date, policy.sum_insured,
        policy.instance_id, designation["beneficiary_designation"], designation["beneficiaries"], changes,
        _may_change(session, actor, policy))
