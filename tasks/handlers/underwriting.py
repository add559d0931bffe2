"""Underwriting: the premium quote from the rate table, and the record of each decision."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.registry import HandlerContext

from ..common import CENT, age_on, business_date, money
from ..records import ProductRecord, RateRecord, UnderwritingOutcomeRecord
from .customers import get_customer

THOUSAND = Decimal(1000)


def whole_years(value: int | float | str) -> int:
    """A term in years from process data (a form may send 20.0); a fraction of a year is a fault."""
    years = Decimal(str(value))
    if years != years.to_integral_value() or years <= 0:
        raise ValueError(f"term_years must be a positive whole number, not {value!r}")
    return int(years)


# What an underwriting case may end in on the applicant's record; only "decline" counts as a prior decline.
DECISIONS = ("accept", "decline", "postpone")


def _unavailable(age: int, reason: str, line: str | None = None) -> dict:
    return {"available": False, "annual_premium": 0.0, "rate_per_thousand": 0.0, "age": age, "reason": reason,
            "line": line}


def price_quote(ctx: HandlerContext, product_code: str, customer_id: int, sum_insured: float, term_years: int,
                loading: float) -> dict:
    """Annual premium = sum insured / 1,000 × rate for the customer's age band and term × loading; `line` is the
    product line (underwriting applies that line's rules)."""
    insured, factor, term = Decimal(str(sum_insured)), Decimal(str(loading)), whole_years(term_years)
    if insured <= 0 or factor <= 0:
        raise ValueError(f"sum insured and loading must be positive (got {sum_insured!r}, {loading!r})")
    age = age_on(get_customer(ctx.session, customer_id).birth_date, business_date(ctx))
    product = ctx.session.get(ProductRecord, product_code)
    # An unavailable quote is an answer, not a failure: the agent offers another product.
    if product is None:
        return _unavailable(age, f"no product {product_code}")
    if not product.active:
        return _unavailable(age, f"product {product_code} is no longer sold", product.line)
    if not product.min_age <= age <= product.max_age:
        return _unavailable(age, f"no rate for age {age}: the product covers ages {product.min_age}–{product.max_age}",
                            product.line)
    rate = ctx.session.scalar(
        select(RateRecord.rate_per_thousand)
        .where(RateRecord.product_code == product_code, RateRecord.age_min <= age, RateRecord.age_max >= age,
               RateRecord.term_years == term)
        .order_by(RateRecord.age_min.desc())  # overlapping bands: the one starting nearest the age wins
        .limit(1)
    )
    if rate is None:
        return _unavailable(age, f"no rate for age {age} and term {term} years", product.line)
    premium = (insured / THOUSAND * rate * factor).quantize(CENT, rounding=ROUND_HALF_UP)
    return {"available": True, "annual_premium": money(premium), "rate_per_thousand": rate, "age": age,
            "reason": None, "line": product.line}


def record_underwriting(ctx: HandlerContext, customer_id: int, product_code: str, decision: str,
                        exclusion: str = "") -> dict:
    """Keep the decision on this person's record for later anti-fraud look-ups (once per case and product), with
    the exclusion an acceptance carries (issue_policy puts it on the policy)."""
    if decision not in DECISIONS:
        raise ValueError(f"an underwriting decision is one of {', '.join(DECISIONS)}, not {decision!r}")
    customer = get_customer(ctx.session, customer_id)
    # The table has no idempotency key: a retry of this case's step is recognised by instance and product.
    existing = ctx.session.scalar(
        select(UnderwritingOutcomeRecord.id).where(
            UnderwritingOutcomeRecord.instance_id == ctx.instance_id,
            UnderwritingOutcomeRecord.product_code == product_code,
            UnderwritingOutcomeRecord.decision == decision,
        ).limit(1)
    )
    if existing is None:
        ctx.session.add(UnderwritingOutcomeRecord(id_number_hash=customer.id_number_hash, product_code=product_code,
                                                  decision=decision, decided_at=ctx.now(),
                                                  instance_id=ctx.instance_id, exclusion=exclusion.strip() or None))
        ctx.session.flush()
    return {"recorded": True}


def accepted_exclusion(session: Session, instance_id: int | None, product_code: str) -> str | None:
    """The exclusion underwriting accepted this case's application with, if any (for the policy it issues)."""
    if instance_id is None:
        return None
    return session.scalar(
        select(UnderwritingOutcomeRecord.exclusion).where(
            UnderwritingOutcomeRecord.instance_id == instance_id,
            UnderwritingOutcomeRecord.product_code == product_code,
            UnderwritingOutcomeRecord.decision == "accept",
        ).order_by(UnderwritingOutcomeRecord.id.desc()).limit(1)
    )


HANDLERS = [price_quote, record_underwriting]
