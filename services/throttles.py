"""Rate limits as the faces use them (failed sign-ins, claim-status look-ups), over engine.identity.rate_limits: counted
in the database, so a limit holds across web workers and servers; each call is its own short transaction."""

from __future__ import annotations

from datetime import datetime

from engine.identity import RateLimit, rate_limits
from engine.workflow import Runtime


def wait_seconds(rt: Runtime, rule: RateLimit, *keys: str) -> float:
    """How long until none of the keys is at the limit (0 when none is)."""
    with rt.uow(read_only=True) as uow:
        return rate_limits.wait_seconds(uow.session, rule, keys, rt.clock())


def hit(rt: Runtime, rule: RateLimit, *keys: str) -> None:
    """Count one hit for each key."""
    with rt.uow() as uow:
        rate_limits.hit(uow.session, rule, keys, rt.clock())
        uow.commit()


def allow(rt: Runtime, rule: RateLimit, key: str) -> float:
    """Count a hit if the key is under the limit: 0, else the seconds to wait."""
    with rt.uow() as uow:
        wait = rate_limits.allow(uow.session, rule, key, rt.clock())
        uow.commit()
    return wait


def recent(rt: Runtime, rule: RateLimit, key: str) -> tuple[int, datetime | None]:
    """How many hits the key has in the window, and when the last was."""
    with rt.uow(read_only=True) as uow:
        return rate_limits.recent(uow.session, rule, key, rt.clock())


def reset(rt: Runtime, rule: RateLimit, key: str) -> None:
    """Forget a key's hits."""
    with rt.uow() as uow:
        rate_limits.reset(uow.session, rule, key)
        uow.commit()
