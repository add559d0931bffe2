"""Looking up a policy while reporting a claim: the claims clerk types a policy number, the holder's resident
ID number or part of a name, and picks the policy; its number and the holder's name fill the report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from engine.errors import ForbiddenError
from engine.workflow import Actor, Runtime
from tasks.case_links import policies_for
from tasks.records import CustomerRecord, ProductRecord

# Who looks policies up: those who take first notice of loss, and those who supervise them.
LOOKERS = frozenset({"claims_clerk", "claims_manager", "admin"})
MAX_TEXT = 100


@dataclass(frozen=True)
class PolicyMatch:
    """A policy found, as the clerk needs it to report a claim."""

    number: str
    product: str
    status: str
    holder: str
    insured: str
    start_date: date
    end_date: date


def may_look_up(actor: Actor) -> bool:
    """Whether the actor takes or supervises first notices of loss."""
    return bool(actor.roles & LOOKERS)


def look_up_policies(rt: Runtime, actor: Actor, text: str) -> tuple[PolicyMatch, ...]:
    """The policies the text names (number, holder's or insured's ID number, part of a name); ForbiddenError for
    anyone who does not report claims."""
    if not may_look_up(actor):
        raise ForbiddenError(f"{actor.username} does not report claims: policy look-up is for claims staff")
    text = text.strip()[:MAX_TEXT]
    if not text:
        return ()
    with rt.uow(read_only=True) as uow:
        session = uow.session
        matches = []
        for policy in policies_for(session, rt.services.cipher, text):
            holder = session.get(CustomerRecord, policy.holder_id)
            insured = session.get(CustomerRecord, policy.insured_id)
            product = session.get(ProductRecord, policy.product_code)
            matches.append(PolicyMatch(
                policy.number, f"{policy.product_code} {product.name if product else ''}".strip(), policy.status,
                holder.name if holder else "", insured.name if insured else "", policy.start_date, policy.end_date))
    return tuple(matches)
