"""The web app's rate limits (failed sign-ins, claim-status look-ups) over services/throttles.py: counted in
the database, so the limit holds across gunicorn workers and servers, not per process."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from engine.identity import RateLimit
from engine.worker import RATE_LIMIT_MEMORY
from services import claim_access, throttles

from .context import runtime


@dataclass(frozen=True)
class Throttle:
    """One rate limit as the views use it; each call is its own short transaction."""

    rule: RateLimit

    @classmethod
    def of(cls, name: str, limit: int, window_seconds: float) -> Throttle:
        """A throttle allowing `limit` hits per key in `window_seconds`."""
        return cls(RateLimit(name, int(limit), float(window_seconds)))

    def wait_seconds(self, *keys: str) -> float:
        """How long until none of the keys is at the limit (0 when none is)."""
        return throttles.wait_seconds(runtime(), self.rule, *keys)

    def hit(self, *keys: str) -> None:
        """Count one hit for each key."""
        throttles.hit(runtime(), self.rule, *keys)

    def allow(self, key: str) -> float:
        """Count a hit if the key is under the limit: 0, else the seconds to wait."""
        return throttles.allow(runtime(), self.rule, key)

    def recent(self, key: str) -> tuple[int, Any]:
        """How many hits the key has in the window, and when the last was."""
        return throttles.recent(runtime(), self.rule, key)

    def reset(self, key: str) -> None:
        """Forget a key's hits."""
        throttles.reset(runtime(), self.rule, key)


def login_throttle(config: Mapping[str, Any]) -> Throttle:
    """Failed sign-ins per account, remembered for LOGIN_WINDOW_SECONDS (15 minutes): they slow the account
    down (`account_delay`), never lock it."""
    return Throttle.of("sign-in failures", config.get("LOGIN_ACCOUNT_FAILURES", 1000),
                       config.get("LOGIN_WINDOW_SECONDS", 15 * 60))


def address_throttle(config: Mapping[str, Any]) -> Throttle:
    """Failed sign-ins per address: LOGIN_ADDRESS_FAILURES (100) in LOGIN_WINDOW_SECONDS — far above what
    the people behind one office address get wrong, so one person's mistakes never lock out colleagues."""
    return Throttle.of("sign-in failures by address", config.get("LOGIN_ADDRESS_FAILURES", 100),
                       config.get("LOGIN_WINDOW_SECONDS", 15 * 60))


# After the first FREE_FAILURES, each further failure doubles the wait before the account may try again:
# 1, 2, 4 … seconds, at most MAX_DELAY. The right password works as soon as the wait is over.
FREE_FAILURES = 3
MAX_DELAY = 300.0


def account_delay(failures: int, last: Any, now: Any) -> float:
    """Seconds the account must still wait after `failures` recent failures, the last at `last`."""
    if failures < FREE_FAILURES or last is None:
        return 0.0
    delay = min(2.0 ** (failures - FREE_FAILURES), MAX_DELAY)
    return max(0.0, (last + timedelta(seconds=delay) - now).total_seconds())


def status_throttle(config: Mapping[str, Any]) -> Throttle:
    """Claim-status look-ups, through the page or the API alike: STATUS_MAX_LOOKUPS per address in
    STATUS_WINDOW_SECONDS (10 in 10 minutes)."""
    return Throttle.of("claim status look-ups", config.get("STATUS_MAX_LOOKUPS", 10),
                       config.get("STATUS_WINDOW_SECONDS", 10 * 60))


def claim_code_rule(config: Mapping[str, Any]) -> RateLimit:
    """Wrong access codes per claim number, across every address (services/claim_access.py): STATUS_CLAIM_FAILURES
    (5) in STATUS_CLAIM_WINDOW_SECONDS (a day); then the claimant is told to call."""
    default = claim_access.WRONG_CODES
    # At most a day: the worker forgets rate-limit hits older than that (engine/worker.RATE_LIMIT_MEMORY).
    window = min(float(config.get("STATUS_CLAIM_WINDOW_SECONDS", default.window_seconds)),
                 RATE_LIMIT_MEMORY.total_seconds())
    return RateLimit(default.name, int(config.get("STATUS_CLAIM_FAILURES", default.limit)), window)
