"""The policy page: a policy's beneficiaries, their changes, and the endorsement form for who may change them."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from engine.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from services.policy_beneficiaries import PolicyBeneficiaries, change_beneficiaries, show_beneficiaries
from tasks.beneficiaries import MAX_BENEFICIARIES, RELATIONS

from .auth import acting
from .context import runtime
from .masking import mask, sees_personal_data

bp = Blueprint("policies", __name__)

ROWS = 5  # rows of the endorsement form (the service takes up to MAX_BENEFICIARIES)
RELATION_LABELS = {"spouse": _l("Spouse"), "child": _l("Child"), "parent": _l("Parent"),
                   "sibling": _l("Brother or sister"), "grandparent": _l("Grandparent"),
                   "grandchild": _l("Grandchild"), "other": _l("Other")}
DESIGNATION_LABELS = {"named": _l("Named beneficiaries"), "legal_heirs": _l("The insured's legal heirs")}
ROW_FIELDS = ("name", "id_number", "relation", "share")


def _view(number: str) -> PolicyBeneficiaries:
    try:
        return show_beneficiaries(runtime(), acting(), number)
    except NotFoundError:
        abort(404, _("There is no policy %(number)s.", number=number))
    except ForbiddenError:
        abort(403, _("You may not see policy %(number)s.", number=number))


def _posted() -> tuple[dict[str, Any], list[int]]:
    """The change as the service takes it, and the form row of each beneficiary (blank rows left out)."""
    people, rows = [], []
    for row in range(ROWS):
        values = {f: request.form.get(f"b-{row}-{f}", "").strip() for f in ROW_FIELDS}
        if not any(values.values()):
            continue
        share: Any = values["share"].replace("%", "").strip()
        with contextlib.suppress(ArithmeticError):  # a share that is not a number: the service names the field
            number = Decimal(share)
            share = number if number.is_finite() else share
        people.append({**values, "share": share})
        rows.append(row)
    designation = request.form.get("beneficiary_designation") or None
    data = {"beneficiary_designation": designation, "beneficiaries": people if designation == "named" else [],
            "reason": request.form.get("reason", ""), "written_request": request.form.get("written_request") == "on"}
    return data, rows


def _row_errors(fields: dict[str, str], rows: list[int]) -> dict[str, str]:
    """The service's field paths (`beneficiaries.1.share`) as the form's names (`b-<row>-share`)."""
    shown = {}
    for path, message in fields.items():
        parts = path.split(".")
        if len(parts) == 3 and parts[0] == "beneficiaries" and parts[1].isdigit() and int(parts[1]) < len(rows):
            shown[f"b-{rows[int(parts[1])]}-{parts[2]}"] = message
        else:
            shown[path] = message
    return shown


@bp.route("/policies/<number>", methods=["GET", "POST"])
@login_required
def policy(number: str) -> ResponseReturnValue:
    """A policy's beneficiaries (ID numbers masked by role) and, for who may, the form that changes them."""
    view = _view(number)
    errors: dict[str, str] = {}
    form: dict[str, Any] = {"beneficiary_designation": view.beneficiary_designation,
                            "beneficiaries": view.beneficiaries if view.may_change else [], "reason": "",
                            "written_request": False}
    if request.method == "POST":
        data, rows = _posted()
        try:
            change_beneficiaries(runtime(), acting(), view.number, data)
        except ForbiddenError:
            abort(403, _("You may not change the beneficiaries of policy %(number)s.", number=view.number))
        except ConflictError as exc:
            flash(str(exc), "warning")
        except InvalidInputError as exc:
            errors = _row_errors(dict((exc.details or {}).get("fields") or {}), rows)
            flash(_("Please correct the marked fields."), "danger")
            form = {**data, "beneficiaries": [dict(p) for p in data["beneficiaries"]], "rows": rows}
        else:
            flash(_("The beneficiaries of policy %(number)s are changed.", number=view.number), "success")
            return redirect(url_for("policies.policy", number=view.number))
    people = mask(view.beneficiaries, sees_personal_data(acting().roles))
    form_rows = _form_rows(form)
    return render_template("policies/policy.html", policy=view, people=people, errors=errors, form=form,
                           form_rows=form_rows, relations=[(r, RELATION_LABELS[r]) for r in RELATIONS],
                           relation_labels=RELATION_LABELS, designation_labels=DESIGNATION_LABELS,
                           max_beneficiaries=MAX_BENEFICIARIES), 422 if errors else 200


def _form_rows(form: dict[str, Any]) -> list[dict[str, Any]]:
    """ROWS rows of the endorsement form, filled from the current or submitted beneficiaries."""
    filled: dict[int, dict[str, Any]] = {}
    for index, person in enumerate(form.get("beneficiaries") or []):
        row = (form.get("rows") or list(range(ROWS)))[index] if index < ROWS else None
        if row is not None:
            filled[row] = person
    return [{f: ("" if filled.get(row, {}).get(f) is None else filled.get(row, {}).get(f)) for f in ROW_FIELDS}
            for row in range(ROWS)]
