"""The customer's claim status look-up and the claimant's own messages: no sign-in; the claim's access code in
the JSON body (never in the URL, so no access log holds it); steps, dates and the amount paid only; limited per
address and, for wrong codes, per claim across every address."""

from __future__ import annotations

import math
from typing import Any

from flask import Response, current_app, request

from services.claim_access import ClaimAccess, check_access, claim_progress, deliver_customer_message

from ..context import runtime
from ..throttling import claim_code_rule, status_throttle
from .common import blueprint, error_response
from .schemas import ClaimCheckSchema, ClaimStatusSchema, CustomerMessageReceivedSchema, CustomerMessageSchema

bp = blueprint("public", __name__, "The customer's claim status page (no sign-in).", signed_in=False)

NOT_FOUND = "no claim matches this claim number and access code"
LOCKED = "too many wrong access codes for this claim: the look-up is closed for now, please call us"
LIMITED = "too many look-ups from this address (rate_limited), or wrong codes for this claim (claim_locked)"
NO_STORE = {"Cache-Control": "no-store"}


@bp.before_request
def _rate_limit() -> Any:
    # remote_addr is the peer; behind a reverse proxy the deployment wraps the app in ProxyFix.
    wait = status_throttle(current_app.config).allow(f"addr:{request.remote_addr}")
    if wait:
        return error_response(429, "rate_limited", "too many look-ups from this address; try again later",
                              {"retry_after": math.ceil(wait)}, {"Retry-After": str(math.ceil(wait))})
    return None


def _checked(claim_no: str, code: str) -> ClaimAccess | Response:
    """The claim the number and code open, or the error answer (the same 404 for every mismatch)."""
    access = check_access(runtime(), claim_no, code, claim_code_rule(current_app.config))
    if access.locked:
        phone = current_app.config.get("CUSTOMER_HOTLINE")
        return error_response(429, "claim_locked", LOCKED, {"call": phone} if phone else None)
    if not access.granted:
        return error_response(404, "not_found", NOT_FOUND)
    return access


@bp.post("/public/claims/<claim_no>")
@bp.arguments(ClaimCheckSchema)
@bp.response(200, ClaimStatusSchema)
@bp.doc(security=[], responses={404: {"description": NOT_FOUND}, 429: {"description": LIMITED}})
def claim(args: dict[str, Any], claim_no: str) -> Any:
    """A claim's status steps and their dates (and the amount paid, once paid); `code` is the access code from
    the claim's acknowledgement. The claim number is matched case-insensitively."""
    checked = _checked(claim_no, args["code"])
    if not isinstance(checked, ClaimAccess):
        return checked
    return claim_progress(runtime(), checked), 200, NO_STORE


@bp.post("/public/claims/<claim_no>/messages/<name>")
@bp.arguments(CustomerMessageSchema)
@bp.response(202, CustomerMessageReceivedSchema)
@bp.doc(security=[], responses={
    403: {"description": "the message is not one a customer sends"},
    404: {"description": NOT_FOUND},
    409: {"description": "the claim does not wait for this message now (or already has it)"},
    422: {"description": "the text is empty, too long or holds control characters"},
    429: {"description": LIMITED}})
def message(args: dict[str, Any], claim_no: str, name: str) -> Any:
    """The claimant's message into their own claim (e.g. `claim_documents_sent` while documents are asked for),
    authenticated by the claim's access code; only messages the diagram marks `deliveredBy="customer"`."""
    checked = _checked(claim_no, args["code"])
    if not isinstance(checked, ClaimAccess):
        return checked
    try:
        deliver_customer_message(runtime(), checked, name, args["text"])
    except ValueError as exc:
        return error_response(422, "invalid_input", f"text: {exc}", {"fields": {"text": str(exc)}})
    return {"claim_number": checked.claim_number, "message": name, "received": True}, 202, NO_STORE
