"""Sales: premium collection (with the facts AML screening needs), policy issue and confirmation.

Policy numbers are `P` + 2-digit issue year + 8-digit sequence + one check character computed with
ISO 7064 MOD 11-2 over the 10 digits — the scheme GB 11643 uses for resident ID numbers, so a typo in
one digit or a swap of two neighbouring digits is caught (see `valid_policy_number`).
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from engine.registry import HandlerContext

from ..beneficiaries import LEGAL_HEIRS, designate, designation_problems
from ..common import business_date, money
from ..common import services as domain_services
from ..idcard import iso7064_mod11_2
from ..payment_records import PremiumPaymentRecord
from ..records import PolicyRecord, ProductRecord
from ..termination_requests import cancellation_pending
from ..timeline import queue_notification
from .customers import get_customer, on_watch_list
from .sales_receipt import cooling_off_dates
from .underwriting import accepted_exclusion, whole_years

PAYMENT_METHODS = ("cash", "transfer", "card")
_POLICY_NUMBER = re.compile(r"P([0-9]{10})([0-9X])")
_SEQUENCE_LIMIT = 10**8


def policy_number(year: int, sequence: int) -> str:
    """The policy number for a sequence number in an issue year."""
    if not 0 < sequence < _SEQUENCE_LIMIT:
        raise ValueError(f"policy sequence {sequence} does not fit in 8 digits")
    digits = f"{year % 100:02d}{sequence:08d}"
    return f"P{digits}{iso7064_mod11_2(digits)}"


def valid_policy_number(number: str) -> bool:
    """Whether `number` has the policy number's shape and a correct check character."""
    if not isinstance(number, str):
        return False
    match = _POLICY_NUMBER.fullmatch("".join(number.split()).upper())
    return match is not None and iso7064_mod11_2(match[1]) == match[2]


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def collect_premium(ctx: HandlerContext, customer_id: int, amount: float, method: str, payer_name: str,
                    payer_id_number: str, payer_account: str = "") -> dict:
    """Record the premium received, in suspense until AML screening clears it (once per step), with the
    account it came from (kept encrypted, with its keyed hash: a refund goes back there); report the payer's
    cash today, identity and watch list."""
    if method not in PAYMENT_METHODS:
        raise ValueError(f"payment method must be one of {', '.join(PAYMENT_METHODS)}, not {method!r}")
    paid = money(amount)
    if paid <= 0:
        raise ValueError(f"a premium payment must be positive, not {amount!r}")
    cipher = domain_services(ctx).cipher
    holder = get_customer(ctx.session, customer_id)
    payment = ctx.session.scalar(
        select(PremiumPaymentRecord).where(PremiumPaymentRecord.idempotency_key == ctx.idempotency_key)
    )
    if payment is None:
        # An empty payer ID number means the policyholder pays; only the payer's hash is kept.
        payer_id_number, payer_name = (payer_id_number or "").strip(), (payer_name or "").strip()
        payer_hash = cipher.lookup_hash(payer_id_number) if payer_id_number else holder.id_number_hash
        account = "" if method == "cash" else (payer_account or "").strip()
        payment = PremiumPaymentRecord(
            idempotency_key=ctx.idempotency_key, holder_id=holder.id, payer_hash=payer_hash,
            payer_name=payer_name or holder.name, amount=paid, method=method, paid_on=business_date(ctx),
            created_at=ctx.now(), status="suspense", instance_id=ctx.instance_id,
            payer_account_enc=cipher.encrypt(account) if account else None,
            payer_account_hash=cipher.lookup_hash(account) if account else None,
        )
        ctx.session.add(payment)
        ctx.session.flush()
    cash_today = ctx.session.scalar(
        select(func.coalesce(func.sum(PremiumPaymentRecord.amount), 0)).where(
            PremiumPaymentRecord.payer_hash == payment.payer_hash,
            PremiumPaymentRecord.paid_on == payment.paid_on,
            PremiumPaymentRecord.method == "cash",
        )
    )
    return {
        "payment_id": payment.id,
        "cash_today": money(money(cash_today)),
        "payer_is_holder": payment.payer_hash == holder.id_number_hash,
        "payer_watch_listed": on_watch_list(ctx.session, payment.payer_hash, payment.payer_name),
        "status": payment.status,
    }


def _issued(policy: PolicyRecord) -> dict:
    return {
        "policy_id": policy.id,
        "policy_number": policy.number,
        "start_date": policy.start_date.isoformat(),
        "end_date": policy.end_date.isoformat(),
        **cooling_off_dates(policy),
        "business_key": policy.number,
    }


def issue_policy(ctx: HandlerContext, customer_id: int, product_code: str, sum_insured: float, term_years: int,
                 annual_premium: float, loading: float, cooling_off_days: int,
                 beneficiary_designation: str = LEGAL_HEIRS, beneficiaries: list | None = None,
                 await_receipt: bool = False) -> dict:
    """Put a policy in force for the customer (once per case and product) with its number and beneficiaries
    (the named ones, or the legal heirs — also when a diagram of an earlier version names none) and send its
    documents. With `await_receipt` the policy waits for the holder's signed receipt (`record_policy_receipt`
    starts the cooling-off period from it; the holder is asked to sign, `policy_receipt_requested`); without it
    (diagrams of earlier versions) the day of issue is taken as the receipt date and the policy-issued notice
    is sent at once."""
    existing = ctx.session.scalar(
        select(PolicyRecord).where(PolicyRecord.instance_id == ctx.instance_id,
                                   PolicyRecord.product_code == product_code)
    )
    if existing is not None:
        return _issued(existing)
    customer = get_customer(ctx.session, customer_id)
    if ctx.session.get(ProductRecord, product_code) is None:
        raise LookupError(f"no product {product_code}")
    term, cooling_off = whole_years(term_years), int(cooling_off_days)
    if cooling_off < 0:
        raise ValueError(f"cooling_off_days cannot be negative ({cooling_off_days!r})")
    named = list(beneficiaries or [])
    # The application form refused a bad designation already; one that arrives otherwise is an incident.
    problems = designation_problems(beneficiary_designation, named, business_date(ctx))
    if problems:
        raise ValueError("the beneficiary designation is not valid: "
                         + "; ".join(f"{path} {message}" for path, message in problems.items()))
    insured, premium = money(sum_insured), money(annual_premium)
    now = ctx.now()
    start = business_date(ctx)
    received = None if await_receipt else start
    policy = PolicyRecord(
        # A placeholder until the row's id, unique under concurrent issues, gives the sequence number.
        number=f"~{uuid.uuid4().hex[:20]}", product_code=product_code, holder_id=customer.id,
        insured_id=customer.id, beneficiary_ids=[], sum_insured=insured, remaining_sum_insured=insured,
        annual_premium=premium, loading=Decimal(str(loading)), term_years=term, start_date=start,
        end_date=add_years(start, term), documents_received_on=received,
        cooling_off_end=received + timedelta(days=cooling_off) if received else None, status="in_force",
        premiums_paid=premium, issued_at=now, instance_id=ctx.instance_id,
        exclusions=accepted_exclusion(ctx.session, ctx.instance_id, product_code),
    )
    ctx.session.add(policy)
    ctx.session.flush()
    policy.number = policy_number(start.year, policy.id)
    designate(ctx.session, domain_services(ctx).cipher, policy, named, now)
    ctx.session.flush()
    issued = _issued(policy)
    if await_receipt:
        queue_notification(ctx.session, ctx.idempotency_key, policy.holder_id, "policy_receipt_requested", {
            "policy_number": policy.number, "product_code": product_code, "start_date": issued["start_date"],
            "cooling_off_days": cooling_off}, now)
        return issued
    # A written notice (tasks/notices.py): the receipt date and the cooling-off period counted from it.
    queue_notification(ctx.session, ctx.idempotency_key, policy.holder_id, "policy_issued", {
        "policy_number": policy.number, "product_code": product_code, "start_date": issued["start_date"],
        "receipt_date": issued["receipt_date"], "cooling_off_days": cooling_off,
        "cooling_off_end": issued["cooling_off_end"],
    }, now, "letter")
    return issued


def confirm_policy(ctx: HandlerContext, policy_id: int, hold_for_cancellation: bool = False) -> dict:
    """The cooling-off period passed without cancellation: tell the policyholder the policy stands. With
    `hold_for_cancellation`, a cancellation asked for within the period and still in progress holds it:
    not confirmed, `cancellation_pending` (the sale waits for the request to end)."""
    policy = ctx.session.get(PolicyRecord, int(policy_id))
    if policy is None:
        raise LookupError(f"no policy with id {policy_id}")
    # A policy cancelled in the meantime is not confirmed, and its holder is not told it is.
    if policy.status != "in_force":
        return {"confirmed": False, "cancellation_pending": False} if hold_for_cancellation else {"confirmed": False}
    if hold_for_cancellation and cancellation_pending(ctx.session, policy.id):
        return {"confirmed": False, "cancellation_pending": True}
    queue_notification(ctx.session, ctx.idempotency_key, policy.holder_id, "policy_confirmed",
                       {"policy_number": policy.number}, ctx.now())
    return {"confirmed": True, "cancellation_pending": False} if hold_for_cancellation else {"confirmed": True}


HANDLERS = [collect_premium, issue_policy, confirm_policy]
