"""The auditor's area: case search, a case's audit page (timeline, step slider over the deployed diagram,
chain verification, replay, revealing personal data) and the whole-database check; the case's audit report
that the page, the API and the exports share is webui/audit_report.py."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required

from engine.audit import case_audit, check_checkpoint, replay, report_dict, verify_all, verify_case
from engine.errors import EngineError, ForbiddenError, InvalidInputError, NotFoundError
from tasks.common import BUSINESS_TZ

from .audit_report import AuditView, build_audit, chain_words
from .auth import acting
from .case_text import STATUS_LABELS, node_history
from .context import runtime
from .diagram_texts import drawing_lang, lang_arg

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 20


def _lang() -> str:
    return str(get_locale() or "zh")


def _audit_or_abort(instance_id: int) -> AuditView:
    try:
        return build_audit(runtime(), acting(), instance_id, _lang())
    except NotFoundError:
        abort(404, _("There is no case %(id)s.", id=instance_id))
    except ForbiddenError:
        abort(403)


def _day(text: str, errors: dict[str, str], name: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), BUSINESS_TZ)
    except ValueError:
        errors[name] = _("Enter a date as YYYY-MM-DD.")
        return None


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """Search every case by number, process, status, start date and person (auditors, admins)."""
    actor, args = acting(), request.args
    errors: dict[str, str] = {}
    start_from = _day(args.get("from", "").strip(), errors, "from")
    start_to = _day(args.get("to", "").strip(), errors, "to")
    if start_to is not None:
        start_to += timedelta(days=1)  # "to" is the last day searched, inclusive
    page = max(1, args.get("page", 1, type=int) or 1)
    try:
        hits, total = case_audit.search_cases(
            runtime(), actor, business_key=args.get("key", "").strip() or None,
            process_key=args.get("process") or None, status=args.get("status") or None, started_from=start_from,
            started_to=start_to, person=args.get("person", "").strip() or None, limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE) if not errors else ([], 0)
    except ForbiddenError:
        abort(403)
    return render_template("audit/index.html", hits=hits, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                           args=args, errors=errors, statuses=STATUS_LABELS,
                           processes=("sales", "underwriting", "claims", "policy_termination"),
                           whole=None, checkpoint=None), 200 if not errors else 422


def _render_case(instance_id: int, status: int = 200, **results: Any) -> ResponseReturnValue:
    view = _audit_or_abort(instance_id)
    diagram = {"url": url_for("cases.diagram_xml", instance_id=instance_id, **lang_arg()),
               "history": node_history(view.case.history)} if view.case.diagram_file else None
    # Each step on the diagram it ran on: a migrated case's earlier steps show the older version.
    slider = [{"number": s.number, "path": s.path, "active": s.active,
               "diagram": url_for(".diagram_xml", instance_id=instance_id, deployment_id=s.deployment_id,
                                  **lang_arg())}
              for s in view.steps]
    return render_template("audit/case.html", view=view, case=view.case, diagram=diagram, slider=slider,
                           actor_may_unmask=acting().may_unmask, **results), status


@bp.get("/cases/<int:instance_id>/diagrams/<int:deployment_id>.xml")
@login_required
def diagram_xml(instance_id: int, deployment_id: int) -> ResponseReturnValue:
    """The exact BPMN file the case ran on in one of its deployments (before and after a migration)."""
    try:
        content = case_audit.case_diagram(runtime(), acting(), instance_id, deployment_id,
                                     drawing_lang(request.args.get("lang")))
    except NotFoundError as exc:
        abort(404, exc.message)
    return Response(content, mimetype="application/xml", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/cases/<int:instance_id>")
@login_required
def case(instance_id: int) -> ResponseReturnValue:
    """A case's audit page: timeline, the step slider over the exact deployed diagram, checks, exports."""
    return _render_case(instance_id)


@bp.post("/cases/<int:instance_id>/verify")
@login_required
def verify(instance_id: int) -> ResponseReturnValue:
    """Recompute the case's hash chain and check its deployment's files (read-only)."""
    try:
        chain, problems = verify_case(runtime(), acting(), instance_id)
    except NotFoundError:
        abort(404)
    except ForbiddenError:
        abort(403)
    breaks = [(b.seq, chain_words(b.reason)) for b in chain.breaks]
    return _render_case(instance_id, verified={"ok": chain.ok and not problems, "events": chain.events,
                                               "breaks": breaks, "problems": problems})


@bp.post("/cases/<int:instance_id>/replay")
@login_required
def replay_case(instance_id: int) -> ResponseReturnValue:
    """Re-run the case from its recorded inputs and compare every step (read-only)."""
    try:
        result = replay.replay_instance(runtime(), instance_id, acting())
    except NotFoundError:
        abort(404)
    except ForbiddenError:
        abort(403)
    return _render_case(instance_id, replayed=result)


@bp.post("/cases/<int:instance_id>/unmask")
@login_required
def unmask(instance_id: int) -> ResponseReturnValue:
    """Reveal the case's personal data for a stated reason (the unmask permission); recorded in its history."""
    step = request.form.get("step", type=int)
    reason = request.form.get("reason", "")
    try:
        revealed = case_audit.unmask(runtime(), acting(), instance_id, reason, step=step or None)
    except NotFoundError:
        abort(404)
    except ForbiddenError:
        abort(403, _("You may not reveal personal data."))
    except InvalidInputError:
        return _render_case(instance_id, 422, unmask_error=_("Give a reason (at most 500 characters) for "
                                                             "revealing personal data."), reason=reason)
    return _render_case(instance_id, revealed=revealed)


@bp.post("/verify")
@login_required
def verify_everything() -> ResponseReturnValue:
    """Verify every chain and every deployment of the database (read-only)."""
    return _whole(lambda rt, actor: {"whole": report_dict(verify_all(rt, actor))})


@bp.post("/checkpoint")
@login_required
def checkpoint() -> ResponseReturnValue:
    """Check an uploaded checkpoint file against the database (read-only)."""
    upload = request.files.get("checkpoint")
    try:
        document = json.loads(upload.read()) if upload else None
    except (ValueError, UnicodeDecodeError):
        document = None
    return _whole(lambda rt, actor: {"checkpoint": check_checkpoint(rt, actor, document)})


def _whole(run: Any) -> ResponseReturnValue:
    results: dict[str, Any] = {"whole": None, "checkpoint": None, "checkpoint_error": None}
    status = 200
    try:
        results.update(run(runtime(), acting()))
    except ForbiddenError:
        abort(403)
    except EngineError:
        results["checkpoint_error"] = _("This file is not an InsureFlow checkpoint.")
        status = 422
    return render_template("audit/index.html", hits=None, total=0, page=1, pages=1, args={}, errors={},
                           statuses=STATUS_LABELS, processes=("sales", "underwriting", "claims", "policy_termination"),
                           **results), status

bp.add_app_template_global(chain_words, "chain_words")
