"""The case search page (/cases): by claim or policy number, a customer's ID number or name, process and
status — only the cases the signed-in person may read."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from services.case_search import MAX_TEXT, CaseQuery, find_cases

from .auth import acting
from .case_text import PROCESS_LABELS, STATUS_LABELS
from .context import runtime

bp = Blueprint("case_search", __name__)


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) <= 5 else 1


@bp.get("/cases")
@login_required
def index() -> ResponseReturnValue:
    """Search form and results; a blank search lists the cases the person may read, newest first."""
    args = request.args
    process = args.get("process", "")
    status = args.get("status", "")
    query = CaseQuery(text=args.get("q", "")[:MAX_TEXT], process_key=process if process in PROCESS_LABELS else None,
                      status=status if status in STATUS_LABELS else None, page=_page_number(args.get("page")))
    view = find_cases(runtime(), acting(), query)
    return render_template("cases/search.html", view=view, processes=PROCESS_LABELS, statuses=STATUS_LABELS,
                           max_text=MAX_TEXT)
