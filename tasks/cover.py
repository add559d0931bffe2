"""What is left of a policy's cover for a claim: the limit a payable amount may not pass."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.registry import FieldProblem

from .common import money
from .records import ClaimRecord, PolicyRecord

# The form keyword of a number field that may not exceed the remaining sum insured of the case's claim
# (bpmn/README.md, "Forms").
WITHIN_COVER = "x-within-cover"


def remaining_cover(session: Session, instance_id: int) -> Decimal | None:
    """The remaining sum insured of the policy of the claim a case opened; None when it opened none."""
    claim = session.scalar(select(ClaimRecord).where(ClaimRecord.instance_id == instance_id))
    policy = session.get(PolicyRecord, claim.policy_id) if claim is not None else None
    return None if policy is None else money(max(policy.remaining_sum_insured, Decimal("0")))


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
    remaining = remaining_cover(session, instance_id)
    if remaining is None:
        return {}
    problems = {}
    for name, amount in amounts.items():
        try:
            above = Decimal(str(amount)) > remaining
        except InvalidOperation:  # not a finite number: the schema has already said so
            continue
        if above:
            problems[name] = FieldProblem(
                "above_remaining_cover",
                f"is more than the remaining sum insured of {remaining} CNY: at most {remaining} can be paid",
                {"remaining": f"{remaining}"})
    return problems
