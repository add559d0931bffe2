"""The customer's claim-status page: claim number plus the access code from the acknowledgement, no sign-in,
both in a POST body (never in a URL, so no access log holds them); only status steps, dates and the amount paid;
one answer for every kind of mismatch; limited per address and, for wrong codes, per claim (then: call us).
While a claim waits for documents, the claimant can tell the insurer here that they sent them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from engine.errors import ConflictError, EngineError
from services.claim_access import ClaimAccess, check_access, claim_progress, deliver_customer_message
from tasks.claim_access import MAX_NOTE

from .context import runtime
from .throttling import claim_code_rule, status_throttle

bp = Blueprint("public", __name__)

STATUS_LABELS = {
    "registered": _l("Claim registered"), "documents_requested": _l("Documents requested"),
    # A fraud investigation is shown as "Under review" (tasks/claim_status.py): never named to the claimant.
    "under_review": _l("Under review"),
    "survey_scheduled": _l("Survey scheduled"), "assessing": _l("Amount being assessed"),
    "approved": _l("Approved"), "paid": _l("Paid"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn"),
    "unpaid": _l("Approved, not yet paid: please contact us"),
}
DOCUMENTS_SENT = "claim_documents_sent"


class StatusForm(FlaskForm):
    """Claim number and access code."""

    claim_number = StringField(_l("Claim number"), validators=[DataRequired(), Length(max=24)])
    access_code = StringField(_l("Access code (from our acknowledgement message)"),
                              validators=[DataRequired(), Length(max=24)])


class DocumentsSentForm(FlaskForm):
    """The claimant says they sent the documents: the access code again, and a few words."""

    access_code = StringField(_l("Access code"), validators=[DataRequired(), Length(max=24)])
    note = TextAreaField(_l("What did you send, and how?"), validators=[DataRequired(), Length(max=MAX_NOTE)])


def _page(status: int = 200, **shown: Any) -> ResponseReturnValue:
    """The page with empty forms: the entered values are never echoed (a wrong number and a wrong code must
    read exactly the same), and a code never goes back into the HTML."""
    values = {"result": None, "refused": False, "limited": False, "locked": False, "sent": None, "note_error": None,
              "hotline": current_app.config.get("CUSTOMER_HOTLINE"), **shown}
    return render_template("public/status.html", form=StatusForm(formdata=None),
                           sent_form=DocumentsSentForm(formdata=None), **values), status, {"Cache-Control": "no-store"}


def _checked(number: str, code: str) -> ClaimAccess | ResponseReturnValue:
    """The claim the number and code open, or the page that refuses them."""
    if status_throttle(current_app.config).allow(f"addr:{request.remote_addr}"):
        return _page(429, limited=True)
    access = check_access(runtime(), number, code, claim_code_rule(current_app.config))
    if access.locked:
        return _page(429, locked=True)
    if not access.granted:
        return _page(refused=True)
    return access


def _result(access: ClaimAccess) -> dict[str, Any] | None:
    found = claim_progress(runtime(), access)
    if found is None:
        return None
    steps = [{"label": str(STATUS_LABELS.get(s["status"], s["status"])), "date": s["date"]} for s in found["steps"]]
    waiting = bool(found["steps"]) and found["steps"][-1]["status"] == "documents_requested"
    return {"claim_number": found["claim_number"], "steps": steps, "paid_amount": found.get("paid_amount"),
            "documents_wanted": waiting}


@bp.route("/status", methods=["GET", "POST"])
def status() -> ResponseReturnValue:
    """Look up a claim's progress (a GET shows the empty form, whatever its query says)."""
    if request.method == "GET":
        return _page()
    form = StatusForm()
    if not form.validate_on_submit():
        return _page(refused=True)
    checked = _checked(form.claim_number.data or "", form.access_code.data or "")
    if not isinstance(checked, ClaimAccess):
        return checked
    return _page(result=_result(checked))


@bp.post("/status/claims/<claim_number>/documents-sent")
def documents_sent(claim_number: str) -> ResponseReturnValue:
    """The claimant tells the insurer the documents are on their way (the claims clerk sees the note)."""
    form = DocumentsSentForm()
    if not form.validate_on_submit():
        return _page(refused=True)
    checked = _checked(claim_number, form.access_code.data or "")
    if not isinstance(checked, ClaimAccess):
        return checked
    try:
        deliver_customer_message(runtime(), checked, DOCUMENTS_SENT, form.note.data or "")
    except ValueError:
        return _page(422, result=_result(checked), note_error=True)
    except ConflictError:  # the claim no longer waits for documents, or the claimant already told us
        return _page(409, result=_result(checked), sent="not_waiting")
    except EngineError as exc:  # a text the engine refuses (control characters)
        if exc.code != "invalid_input":
            raise
        return _page(422, result=_result(checked), note_error=True)
    return _page(result=_result(checked), sent="received")
