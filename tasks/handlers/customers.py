"""Customers: registration with consent, applicant verification, and the anti-fraud look-up."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.registry import HandlerContext

from ..common import age_on, as_date, business_date, customer_by_id_number, services
from ..idcard import parse_id_number, valid_phone
from ..records import ClaimRecord, CustomerRecord, UnderwritingOutcomeRecord, WatchListRecord


def get_customer(session: Session, customer_id: int) -> CustomerRecord:
    """The customer with this id; a missing one is a fault in the process data, not a business outcome."""
    customer = session.get(CustomerRecord, int(customer_id))
    if customer is None:
        raise LookupError(f"no customer with id {customer_id}")
    return customer


def on_watch_list(session: Session, id_number_hash: str, name: str) -> bool:
    """Whether the watch list names this person by ID number hash or by exact name."""
    hit = session.scalar(
        select(WatchListRecord.id).where(
            or_(WatchListRecord.id_number_hash == id_number_hash, WatchListRecord.name == name)
        ).limit(1)
    )
    return hit is not None


def applicant_watch_listed(session: Session, id_number_hash: str, name: str) -> bool:
    """Whether the watch list names this very person: an entry with their ID number's keyed hash and their name.

    A name alone is no match (namesakes are common), nor is an entry without an ID number: a hit sends the
    application to compliance, never to a decline."""
    hit = session.scalar(
        select(WatchListRecord.id).where(
            WatchListRecord.id_number_hash == id_number_hash, WatchListRecord.name == name
        ).limit(1)
    )
    return hit is not None


def register_customer(ctx: HandlerContext, name: str, id_number: str, birth_date: str, phone: str,
                      region: str) -> dict:
    """Find the customer by ID number or create them; their latest declaration and consent are kept."""
    cipher = services(ctx).cipher
    now = ctx.now()
    born = as_date(birth_date)
    gender = parse_id_number(id_number, business_date(ctx)).gender
    phone_enc = cipher.encrypt(phone) if phone else None
    customer = customer_by_id_number(ctx.session, services(ctx), id_number)
    if customer is None:
        customer = CustomerRecord(id_number_enc=cipher.encrypt(id_number), id_number_hash=cipher.lookup_hash(id_number),
                                  created_at=now)
        ctx.session.add(customer)
    # A returning customer's new registration is their current declaration: verification checks it.
    customer.name = name
    customer.birth_date = born
    customer.gender = gender
    customer.phone_enc = phone_enc
    customer.region = region or None
    customer.consent_at = now
    ctx.session.flush()
    return {"customer_id": customer.id, "age": age_on(born, business_date(ctx))}


def verify_applicant(ctx: HandlerContext, customer_id: int) -> dict:
    """Check the applicant's ID number, birth date, phone and the watch list; name every failure.

    `watch_listed` says whether the reasons include a watch-list hit (keyed hash of the ID number plus name):
    the diagram sends that to compliance and every other failure back to the agent."""
    cipher = services(ctx).cipher
    customer = get_customer(ctx.session, customer_id)
    today = business_date(ctx)
    check = parse_id_number(cipher.decrypt(customer.id_number_enc), today)
    reasons = list(check.reasons)
    if check.birth_date is not None and check.birth_date != customer.birth_date:
        reasons.append("birth_date_mismatch")
    phone = cipher.decrypt(customer.phone_enc) if customer.phone_enc is not None else ""
    if not valid_phone(phone):
        reasons.append("phone")
    watch_listed = applicant_watch_listed(ctx.session, customer.id_number_hash, customer.name)
    if watch_listed:
        reasons.append("watch_list")
    # The ID number is the authority on age once it decodes; the declared birth date otherwise.
    age = check.age if check.age is not None else age_on(customer.birth_date, today)
    return {"verified": not reasons, "reasons": reasons, "age": age, "watch_listed": watch_listed}


def anti_fraud_lookup(ctx: HandlerContext, customer_id: int) -> dict:
    """This person's earlier declined applications and the claims they made (a postponement, a return to the
    agent or a compliance review is no decline)."""
    customer = get_customer(ctx.session, customer_id)
    declines = ctx.session.scalar(
        select(func.count()).select_from(UnderwritingOutcomeRecord).where(
            UnderwritingOutcomeRecord.id_number_hash == customer.id_number_hash,
            UnderwritingOutcomeRecord.decision == "decline",
        )
    )
    claims = ctx.session.scalar(
        select(func.count()).select_from(ClaimRecord).where(ClaimRecord.claimant_id == customer.id)
    )
    return {"prior_declines": int(declines or 0), "prior_claims": int(claims or 0)}


HANDLERS = [register_customer, verify_applicant, anti_fraud_lookup]
