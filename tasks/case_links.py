"""Which cases a policy or a customer appears in: a policy's own cases carry its number as business key
(its sale, its termination requests), its claims carry their claim numbers; a customer's are those of the
policies they hold or are insured by and of the claims they made. Found by number, by the keyed hash of a
resident ID number (never the number itself), or by a part of the name."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .crypto import PersonalDataCipher
from .idcard import parse_id_number
from .records import ClaimRecord, CustomerRecord, PolicyRecord

MAX_CUSTOMERS = 50  # a name part that matches more people than this is too vague to list their cases
_FAR_FUTURE = date(9999, 12, 31)  # the look-up asks only whether the text is shaped like an ID number


@dataclass
class CaseLinks:
    """The business keys and case ids a look-up names."""

    business_keys: set[str] = field(default_factory=set)
    instance_ids: set[int] = field(default_factory=set)

    def add_policies(self, session: Session, policies: Collection[PolicyRecord]) -> None:
        """A policy's own cases and those of its claims."""
        for policy in policies:
            self.business_keys.add(policy.number)
            if policy.instance_id is not None:
                self.instance_ids.add(policy.instance_id)
        if policies:
            self.add_claims(session.scalars(select(ClaimRecord).where(
                ClaimRecord.policy_id.in_([p.id for p in policies]))).all())

    def add_claims(self, claims: Collection[ClaimRecord]) -> None:
        """Each claim's case."""
        for claim in claims:
            self.business_keys.add(claim.number)
            if claim.instance_id is not None:
                self.instance_ids.add(claim.instance_id)


def customers_matching(session: Session, cipher: PersonalDataCipher, text: str) -> list[CustomerRecord]:
    """The customers a text names: by resident ID number (its keyed hash), else by a part of the name (at
    least two characters; at most MAX_CUSTOMERS + 1 returned, so that the caller can tell it is too vague)."""
    if parse_id_number(text, _FAR_FUTURE).valid:
        found = session.scalar(select(CustomerRecord).where(CustomerRecord.id_number_hash == cipher.lookup_hash(
            "".join(text.split()).upper())))
        return [found] if found is not None else []
    if len(text) < 2:
        return []
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(session.scalars(select(CustomerRecord).where(
        func.lower(CustomerRecord.name).like(pattern.lower(), escape="\\")).limit(MAX_CUSTOMERS + 1)))


def cases_for(session: Session, cipher: PersonalDataCipher, text: str) -> CaseLinks:
    """The cases the text names: as a claim or policy number (or any business key), as a customer's resident
    ID number, or as part of a customer's name."""
    links = CaseLinks()
    number = "".join(text.split()).upper()
    links.business_keys.add(number)
    policy = session.scalar(select(PolicyRecord).where(PolicyRecord.number == number))
    if policy is not None:
        links.add_policies(session, [policy])
    customers = customers_matching(session, cipher, text.strip())
    if customers and len(customers) <= MAX_CUSTOMERS:
        ids = [c.id for c in customers]
        links.add_policies(session, session.scalars(select(PolicyRecord).where(
            or_(PolicyRecord.holder_id.in_(ids), PolicyRecord.insured_id.in_(ids)))).all())
        links.add_claims(session.scalars(select(ClaimRecord).where(ClaimRecord.claimant_id.in_(ids))).all())
    return links



def policies_for(session: Session, cipher: PersonalDataCipher, text: str, limit: int = 20) -> list[PolicyRecord]:
    """The policies a text names: by policy number, or those a customer (by ID number or name) holds or is
    insured by; newest first."""
    number = "".join(text.split()).upper()
    found = session.scalar(select(PolicyRecord).where(PolicyRecord.number == number))
    if found is not None:
        return [found]
    customers = customers_matching(session, cipher, text.strip())
    if not customers or len(customers) > MAX_CUSTOMERS:
        return []
    ids = [c.id for c in customers]
    return list(session.scalars(select(PolicyRecord).where(
        or_(PolicyRecord.holder_id.in_(ids), PolicyRecord.insured_id.in_(ids)))
        .order_by(PolicyRecord.issued_at.desc(), PolicyRecord.id.desc()).limit(limit)))
