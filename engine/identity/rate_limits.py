"""Sliding-window rate limits kept in the database, so that every web worker (and every server on one
PostgreSQL) counts against the same limit: failed sign-ins per name and per address, claim-status
look-ups per address. Keys are stored as sha256 digests: an address or a user name is never kept in
clear for this."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.workflow.models import RateLimitHitModel

_H = RateLimitHitModel


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` hits per key in any `window_seconds`; `name` keeps different limits apart."""

    name: str
    limit: int
    window_seconds: float

    def digest(self, key: str) -> str:
        """The stored form of a key under this limit."""
        return hashlib.sha256(f"{self.name}\0{key}".encode()).hexdigest()

    @property
    def window(self) -> timedelta:
        """The window as a duration."""
        return timedelta(seconds=self.window_seconds)


def wait_seconds(session: Session, rule: RateLimit, keys: tuple[str, ...], now: datetime) -> float:
    """How long until none of the keys is at the limit (0 when none is)."""
    waits = []
    for key in keys:
        # The key is at its limit while its limit-th most recent hit is inside the window; the limit lifts
        # when that hit leaves it.
        blocking = session.scalars(
            select(_H.at).where(_H.key == rule.digest(key), _H.at > now - rule.window)
            .order_by(_H.at.desc()).offset(rule.limit - 1).limit(1)).first()
        if blocking is not None:
            waits.append((blocking + rule.window - now).total_seconds())
    return max(waits, default=0.0)


def recent(session: Session, rule: RateLimit, key: str, now: datetime) -> tuple[int, datetime | None]:
    """How many hits the key has inside the window, and when the last was."""
    hits = list(session.scalars(select(_H.at).where(_H.key == rule.digest(key), _H.at > now - rule.window)
                                .order_by(_H.at.desc())))
    return len(hits), (hits[0] if hits else None)


def hit(session: Session, rule: RateLimit, keys: tuple[str, ...], now: datetime) -> None:
    """Count one hit for each key, forgetting that key's hits older than the window."""
    for key in keys:
        digest = rule.digest(key)
        session.execute(delete(_H).where(_H.key == digest, _H.at <= now - rule.window))
        session.add(_H(key=digest, at=now))
    session.flush()


def allow(session: Session, rule: RateLimit, key: str, now: datetime) -> float:
    """Count a hit if the key is under its limit: 0, else the seconds until one would be allowed."""
    wait = wait_seconds(session, rule, (key,), now)
    if not wait:
        hit(session, rule, (key,), now)
    return wait


def reset(session: Session, rule: RateLimit, key: str) -> None:
    """Forget a key's hits (a successful sign-in clears that name's failures)."""
    session.execute(delete(_H).where(_H.key == rule.digest(key)))


def sweep(session: Session, before: datetime) -> int:
    """Delete every hit older than `before` (keys that went quiet); the worker calls it."""
    return session.execute(delete(_H).where(_H.at < before)).rowcount or 0
