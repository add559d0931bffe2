"""Claims decided per week and the time from first notice of loss to payout, for the managers' dashboard:
read from the claims table through its (status, closed_at) index, never from any case's history."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .common import BUSINESS_TZ
from .records import ClaimRecord

PAID, DENIED = "paid", "rejected"


@dataclass(frozen=True)
class ClaimWeek:
    """Claims closed in one business week (Monday to Sunday, China time)."""

    week_start: date
    paid: int
    denied: int
    paid_amount: Decimal


@dataclass(frozen=True)
class ClaimFigures:
    """The weeks, oldest first, and the median time from first notice of loss to payout over them."""

    weeks: list[ClaimWeek]
    median_to_payout: timedelta | None
    payouts_measured: int


def week_start(day: date) -> date:
    """The Monday of the business week holding `day`."""
    return day - timedelta(days=day.weekday())


def claim_figures(session: Session, now: datetime, weeks: int = 8) -> ClaimFigures:
    """Paid and denied claims per week for the last `weeks` weeks (this one included), and the median time
    from report to payout of the claims paid in them."""
    first = week_start(now.astimezone(BUSINESS_TZ).date()) - timedelta(weeks=weeks - 1)
    since = datetime.combine(first, time(), BUSINESS_TZ)
    rows = session.execute(
        select(ClaimRecord.status, ClaimRecord.closed_at, ClaimRecord.reported_at, ClaimRecord.paid_amount)
        .where(ClaimRecord.status.in_((PAID, DENIED)), ClaimRecord.closed_at >= since)
    ).all()
    counts = {first + timedelta(weeks=i): [0, 0, Decimal("0")] for i in range(weeks)}
    durations: list[timedelta] = []
    for status, closed_at, reported_at, paid_amount in rows:
        bucket = counts.get(week_start(closed_at.astimezone(BUSINESS_TZ).date()))
        if bucket is None:  # closed after `now` (a clock set back): not a past week
            continue
        if status == PAID:
            bucket[0] += 1
            bucket[2] += paid_amount or Decimal("0")
            durations.append(closed_at - reported_at)
        else:
            bucket[1] += 1
    return ClaimFigures([ClaimWeek(start, paid, denied, amount) for start, (paid, denied, amount) in counts.items()],
                        statistics.median(durations) if durations else None, len(durations))
