"""The customer's claim status look-up: no sign-in, a second factor, steps and dates only, rate limited."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request

from tasks.claim_status import claim_status

from ..context import runtime
from .common import blueprint, error_response
from .schemas import ClaimCheckArgsSchema, ClaimStatusSchema

bp = blueprint("public", __name__, "The customer's claim status page (no sign-in).", signed_in=False)

LIMITER_KEY = "insureflow.public_limiter"
# The same settings as the status page of the web UI (webui.public): one policy for the look-up, whichever way in.
DEFAULT_LOOKUPS, DEFAULT_WINDOW_SECONDS = 10, 600.0
NOT_FOUND = "no claim matches this claim number and check code"


class SlidingWindowLimiter:
    """At most `limit` requests per key in any `window` seconds.

    Kept in this process's memory: with several gunicorn workers each worker counts on its own, so a
    client may get up to `limit` requests per worker; that still bounds guessing of check codes.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self._clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._swept = clock()

    def allow(self, key: str) -> float:
        """Count a request; 0 when allowed, else the seconds until the next one would be."""
        now = self._clock()
        with self._lock:
            if now - self._swept > self.window:  # forget addresses that went quiet, so memory stays bounded
                self._hits = {k: q for k, q in self._hits.items() if q and now - q[-1] < self.window}
                self._swept = now
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 0.001)
            hits.append(now)
            return 0.0


def install(app: Flask) -> None:
    """Give the app its limiter: STATUS_MAX_LOOKUPS per client address in STATUS_WINDOW_SECONDS."""
    app.extensions[LIMITER_KEY] = SlidingWindowLimiter(
        int(app.config.get("STATUS_MAX_LOOKUPS", DEFAULT_LOOKUPS)),
        float(app.config.get("STATUS_WINDOW_SECONDS", DEFAULT_WINDOW_SECONDS)))


@bp.before_request
def _rate_limit() -> Any:
    # remote_addr is the peer; behind a reverse proxy the deployment wraps the app in ProxyFix.
    wait = current_app.extensions[LIMITER_KEY].allow(request.remote_addr or "unknown")
    if wait:
        return error_response(429, "rate_limited", "too many look-ups from this address; try again later",
                              {"retry_after": math.ceil(wait)}, {"Retry-After": str(math.ceil(wait))})
    return None


@bp.get("/public/claims/<claim_no>")
@bp.arguments(ClaimCheckArgsSchema, location="query")
@bp.response(200, ClaimStatusSchema)
@bp.doc(security=[], responses={404: {"description": NOT_FOUND}, 429: {"description": "rate limited"}})
def claim(args: dict[str, Any], claim_no: str) -> Any:
    """A claim's status steps and their dates; `check` is the last 4 characters of the claimant's ID number."""
    with runtime().uow() as uow:
        found = claim_status(uow.session, claim_no, args["check"])
    if found is None:  # the same answer for a wrong number and a wrong check
        return error_response(404, "not_found", NOT_FOUND)
    return found, 200, {"Cache-Control": "no-store"}
