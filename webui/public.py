"""The customer's claim-status page: claim number plus the last 4 characters of the ID number, no
sign-in; only status steps and dates; one answer for every kind of mismatch; rate limited."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from tasks.claim_status import claim_status

from .context import runtime
from .throttling import status_throttle

bp = Blueprint("public", __name__)

STATUS_LABELS = {
    "registered": _l("Claim registered"), "documents_requested": _l("Documents requested"),
    # A fraud investigation is shown as "Under review" (tasks/claim_status.py): never named to the claimant.
    "under_review": _l("Under review"),
    "survey_scheduled": _l("Survey scheduled"), "assessing": _l("Amount being assessed"),
    "approved": _l("Approved"), "paid": _l("Paid"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn"),
    "unpaid": _l("Approved, not yet paid: please contact us"),
}


class StatusForm(FlaskForm):
    """Claim number and second factor."""

    claim_number = StringField(_l("Claim number"), validators=[DataRequired(), Length(max=24)])
    check = StringField(_l("Last 4 characters of the claimant's ID number"),
                        validators=[DataRequired(), Length(min=4, max=4)])


@bp.route("/status", methods=["GET", "POST"])
def status() -> ResponseReturnValue:
    """Look up a claim's progress."""
    form = StatusForm()
    if request.method == "GET":
        return render_template("public/status.html", form=form, result=None, refused=False)
    if status_throttle(current_app.config).allow(f"addr:{request.remote_addr}"):
        return render_template("public/status.html", form=StatusForm(formdata=None), result=None, refused=False,
                               limited=True), 429
    found = None
    if form.validate_on_submit():
        with runtime().uow() as uow:
            found = claim_status(uow.session, form.claim_number.data or "", form.check.data or "")
    if found is None:
        # The entered values are not echoed: a wrong number and a wrong check must read exactly the same.
        return render_template("public/status.html", form=StatusForm(formdata=None), result=None, refused=True)
    steps = [{"label": str(STATUS_LABELS.get(s["status"], s["status"])), "date": s["date"]} for s in found["steps"]]
    return render_template("public/status.html", form=StatusForm(formdata=None), refused=False,
                           result={"claim_number": found["claim_number"], "steps": steps})

