"""The web app's rate limits (failed sign-ins, claim-status look-ups) over engine.rate_limits: counted in
the database, so the limit holds across gunicorn workers and servers, not per process."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine import rate_limits
from engine.rate_limits import RateLimit

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
        rt = runtime()
        with rt.uow(read_only=True) as uow:
            return rate_limits.wait_seconds(uow.session, self.rule, keys, rt.clock())

    def hit(self, *keys: str) -> None:
        """Count one hit for each key."""
        rt = runtime()
        with rt.uow() as uow:
            rate_limits.hit(uow.session, self.rule, keys, rt.clock())
            uow.commit()

    def allow(self, key: str) -> float:
        """Count a hit if the key is under the limit: 0, else the seconds to wait."""
        rt = runtime()
        with rt.uow() as uow:
            wait = rate_limits.allow(uow.session, self.rule, key, rt.clock())
            uow.commit()
        return wait

    def reset(self, key: str) -> None:
        """Forget a key's hits."""
        rt = runtime()
        with rt.uow() as uow:
            rate_limits.reset(uow.session, self.rule, key)
            uow.commit()


def login_throttle(config: Mapping[str, Any]) -> Throttle:
    """Failed sign-ins: LOGIN_MAX_FAILURES per name and per address in LOGIN_WINDOW_SECONDS (5 in 15 minutes)."""
    return Throttle.of("sign-in failures", config.get("LOGIN_MAX_FAILURES", 5),
                       config.get("LOGIN_WINDOW_SECONDS", 15 * 60))


def status_throttle(config: Mapping[str, Any]) -> Throttle:
    """Claim-status look-ups, through the page or the API alike: STATUS_MAX_LOOKUPS per address in
    STATUS_WINDOW_SECONDS (10 in 10 minutes)."""
    return Throttle.of("claim status look-ups", config.get("STATUS_MAX_LOOKUPS", 10),
                       config.get("STATUS_WINDOW_SECONDS", 10 * 60))
