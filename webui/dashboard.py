"""The managers' dashboard page: open cases per step, overdue tasks per role and per person, claims paid and
denied per week and the median time from first notice of loss to payout — as charts and as tables."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import ForbiddenError
from services.dashboard import DashboardView, manager_dashboard
from services.step_names import step_names

from .auth import ROLE_LABELS, acting
from .case_text import process_label
from .context import runtime

bp = Blueprint("dashboard", __name__)


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    days, rest = divmod(int(value.total_seconds()), 86_400)
    return _("%(days)s d %(hours)s h", days=days, hours=rest // 3600)


def _chart_data(view: DashboardView, steps: dict[tuple[str, str], str]) -> dict[str, Any]:
    """The figures the charts draw (the same as the tables beside them)."""
    data: dict[str, Any] = {
        "steps": {"labels": [steps.get((s.process_key, s.task_key), s.task_name) for s in view.steps],
                  "cases": [s.cases for s in view.steps],
                  "overdue": [s.overdue for s in view.steps]},
        "overdue": {"labels": [str(ROLE_LABELS.get(r, r)) for r, _n in view.overdue_by_role],
                    "tasks": [n for _r, n in view.overdue_by_role]},
        "labels": {"cases": _("Open cases"), "overdue": _("Overdue tasks"), "paid": _("Paid"),
                   "denied": _("Denied")},
    }
    if view.claims is not None:
        data["claims"] = {"labels": [w.week_start.isoformat() for w in view.claims.weeks],
                          "paid": [w.paid for w in view.claims.weeks], "denied": [w.denied for w in view.claims.weeks]}
    return data


@bp.get("/dashboard")
@login_required
def index() -> ResponseReturnValue:
    """The dashboard of the teams the signed-in manager manages."""
    try:
        view = manager_dashboard(runtime(), acting())
    except ForbiddenError:
        abort(403, _("The dashboard is for those who manage a team."))
    steps = step_names(runtime(), str(get_locale()), [(s.process_key, s.task_key) for s in view.steps])
    return render_template("dashboard/index.html", view=view, chart=_chart_data(view, steps), steps=steps,
                           duration=_duration,
                           process_label=process_label, role_labels=ROLE_LABELS,
                           scope=", ".join(str(ROLE_LABELS.get(r, r)) for r in view.roles))
