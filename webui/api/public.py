"""The customer's claim status look-up: no sign-in, a second factor, steps and dates only, rate limited."""

from __future__ import annotations

import math
from typing import Any

from flask import current_app, request

from tasks.claim_status import claim_status

from ..context import runtime
from ..throttling import status_throttle
from .common import blueprint, error_response
from .schemas import ClaimCheckArgsSchema, ClaimStatusSchema

bp = blueprint("public", __name__, "The customer's claim status page (no sign-in).", signed_in=False)

NOT_FOUND = "no claim matches this claim number and check code"


@bp.before_request
def _rate_limit() -> Any:
    # remote_addr is the peer; behind a reverse proxy the deployment wraps the app in ProxyFix.
    wait = status_throttle(current_app.config).allow(f"addr:{request.remote_addr}")
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
