"""What is left of a policy's cover for a claim: the limit a payable amount may not pass — the remaining sum
insured, and for a named beneficiary's death claim their share of it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.registry import FieldProblem

from .beneficiaries import beneficiary_share
from .common import money
from .records import ClaimRecord, PolicyRecord

# The form keyword of a number field that may not exceed the remaining sum insured of the case's claim
# (bpmn/README.md, "Forms").
WITHIN_COVER = "x-within-cover"


def remaining_cover(session: Session, instance_id: int) -> Decimal | None:
    """The remaining sum insured of the policy of the claim a case opened; None when it opened none."""
    limit = payable_limit(session, instance_id)
    return None if limit is None else limit[1]


def payable_limit(session: Session, instance_id: int) -> tuple[str, Decimal] | None:
    """What bounds the payable amount of the claim a case opened — ("remaining", the remaining sum insured) or,
    when a named beneficiary's share is less, ("share", that share) — None when the case opened no claim."""
    claim = session.scalar(select(ClaimRecord).where(ClaimRecord.instance_id == instance_id))
    policy = session.get(PolicyRecord, claim.policy_id) if claim is not None else None
    if claim is None or policy is None:
        return None
    remaining = money(max(policy.remaining_sum_insured, Decimal("0")))
    share = beneficiary_share(session, claim, policy)
    return ("share", money(share)) if share is not None and share < remaining else ("remaining", remaining)


def cover_problems(
    session: Session, instance_id: int, schema: Mapping[str, Any], data: Mapping[str, Any],
) -> dict[str, FieldProblem]:
    """Field → problem for every field marked `x-within-cover` whose amount is above what is left of the cover."""
    fields = [name for name, spec in (schema.get("properties") or {}).items()
              if isinstance(spec, dict) and spec.get(WITHIN_COVER) is True]
    amounts = {name: data[name] for name in fields
               if isinstance(data.get(name), int | float) and not isinstance(data.get(name), bool)}
    if not amounts:
        return {}
    limit = payable_limit(session, instance_id)
    if limit is None:
        return {}
    bound, most = limit
    what = "the remaining sum insured" if bound == "remaining" else "the beneficiary's share"
    problems = {}
    for name, amount in amounts.items():
        try:
            above = Decimal(str(amount)) > most
        except InvalidOperation:  # not a finite number: the schema has already said so
            continue
        if above:
            problems[name] = FieldProblem("above_remaining_cover" if bound == "remaining" else "above_share",
                                          f"is more than {what} of {most} CNY: at most {most} can be paid",
                                          {"remaining": f"{most}"})
    return problems
