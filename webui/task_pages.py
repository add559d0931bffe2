"""The task page: the form from the task's JSON Schema, the diagram's instructions, the case around it;
submit with field-level messages, save a draft, and clear words when someone else was first."""

from __future__ import annotations

import base64
import json
import time
import zlib
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup

from engine.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from engine.workflow import Actor, InstanceSummary, Runtime, TaskView, forms
from services import human_tasks
from services.documents import file_ceiling, upload_documents
from services.human_tasks import TaskPage, check_may_keep_draft, task_page
from tasks.crypto import PersonalDataError, is_personal

from . import form_errors, forms_posted, forms_render
from .auth import acting
from .case_text import localtime, masked
from .cases import case_view
from .context import runtime
from .masking import shows_clear
from .uploads import uploads_of

bp = Blueprint("task_pages", __name__)
bp.add_app_template_filter(forms_render.size_label, "filesize")

RECENT_EVENTS = 10
# Drafts live in the signed session cookie, encrypted (they may hold personal data); browsers refuse
# cookies over 4 KB, so the drafts together stay under this many characters, oldest dropped first.
DRAFTS_BUDGET = 2400


def _cipher() -> Any:
    return runtime().services.cipher


def _seal(raw: dict[str, Any]) -> str:
    packed = base64.b64encode(zlib.compress(json.dumps(raw, ensure_ascii=False).encode("utf-8"), 9)).decode()
    return _cipher().encrypt(packed).decode("ascii")


def _open(token: str) -> dict[str, Any] | None:
    try:
        return json.loads(zlib.decompress(base64.b64decode(_cipher().decrypt(token.encode("ascii")))))
    except (PersonalDataError, ValueError, zlib.error):
        return None  # a draft from another instance key or a damaged cookie is no draft


def load_draft(task_id: int) -> tuple[dict[str, Any], float] | None:
    """The draft saved for a task, and when it was saved."""
    entry = (session.get("drafts") or {}).get(str(task_id))
    if not entry:
        return None
    raw = _open(entry["data"])
    return (raw, entry["at"]) if raw is not None else None


def save_draft(task_id: int, raw: dict[str, Any]) -> bool:
    """Keep the entered values of a task; False when they are too large to keep."""
    token = _seal(raw)
    if len(token) > DRAFTS_BUDGET:
        return False
    drafts = {k: v for k, v in (session.get("drafts") or {}).items() if k != str(task_id)}
    while drafts and len(token) + sum(len(v["data"]) for v in drafts.values()) > DRAFTS_BUDGET:
        drafts.pop(min(drafts, key=lambda k: drafts[k]["at"]))
    drafts[str(task_id)] = {"data": token, "at": time.time()}
    session["drafts"] = drafts
    return True


def drop_draft(task_id: int) -> None:
    """Forget a task's draft."""
    drafts = session.get("drafts") or {}
    if str(task_id) in drafts:
        session["drafts"] = {k: v for k, v in drafts.items() if k != str(task_id)}


def _page_or_abort(rt: Runtime, task_id: int, actor: Actor) -> TaskPage:
    try:
        return task_page(rt, actor, task_id)
    except NotFoundError:
        abort(404, _("There is no task %(id)s.", id=task_id))
    except ForbiddenError:
        abort(403, _("You have no part in the case of task %(id)s.", id=task_id))


def task_title(task: TaskView, lang: str) -> str:
    """The task's name in the language (the deployment's translation, or its form's title), else the diagram's."""
    return task.texts.get(lang, {}).get("name") or task.name


def _may_act(task: TaskView, actor: Actor) -> bool:
    if task.status != "open":
        return False
    if task.assignee:
        return task.assignee == actor.username
    return task.role is not None and task.role in actor.roles


def _render(page: TaskPage, actor: Actor, raw: dict[str, Any], errors: dict[str, str], status: int = 200,
            draft_at: float | None = None) -> ResponseReturnValue:
    task, lang = page.task, str(get_locale())
    case = case_view(page.case, actor, lang, recent=RECENT_EVENTS)
    schema = task.form_schema or {}
    return render_template(
        "tasks/task.html", task=task, case=case, title=task_title(task, lang),
        fields=forms_render.fields(schema, raw, errors, lang, file_ceiling(runtime())) if task.form_schema else [],
        form_errors=forms_render.form_errors(errors, schema), may_act=_may_act(task, actor),
        instructions=forms_render.instructions(task.texts.get(lang, {}).get("instructions") or task.instructions,
                                               case.labels.outputs_in_words(masked(task.data or {}, case.clear))),
        draft_at=draft_at, claimant_notes=[{"text": n.text, "at": localtime(n.received_at), "kind": n.kind}
                                           for n in page.case.claimant_notes],
    ), status


@bp.get("/tasks/<int:task_id>")
@login_required
def show(task_id: int) -> ResponseReturnValue:
    """A task with its form (the saved draft, else what the case holds), instructions and case."""
    actor = acting()
    page = _page_or_abort(runtime(), task_id, actor)
    task = page.task
    draft = load_draft(task_id) if task.status == "open" else None
    if draft is not None:
        return _render(page, actor, draft[0], {}, draft_at=draft[1])
    data = task.data or {}
    if not shows_clear(actor.roles, task.clear):  # never put masked values into inputs that would be submitted
        data = {k: v for k, v in data.items() if not is_personal(k)}
    raw = forms_posted.raw_from_data(task.form_schema, data) if task.form_schema else {}
    return _render(page, actor, raw, {})


def _next_page(summary: InstanceSummary, actor: Actor) -> str:
    """The actor's next step in the same case when there is one (an agent's sale goes on), else the inbox."""
    for step in summary.open_tasks:
        if step["assignee"] == actor.username or (step["assignee"] is None and step["role"] in actor.roles):
            return url_for("task_pages.show", task_id=step["id"])
    return url_for("inbox.index")


@bp.post("/tasks/<int:task_id>")
@login_required
def submit(task_id: int) -> ResponseReturnValue:
    """Complete the task, save or discard the draft, or upload its files."""
    actor, rt = acting(), runtime()
    page = _page_or_abort(rt, task_id, actor)
    raw = forms_posted.raw_values(page.task.form_schema, request.form) if page.task.form_schema else {}
    action = request.form.get("action", "complete")
    if action == "draft":
        return _keep_draft(rt, actor, task_id, raw)
    if action == "discard":
        drop_draft(task_id)
        flash(_("Draft discarded."), "info")
        return redirect(url_for("task_pages.show", task_id=task_id))
    upload_errors = _upload_posted(rt, task_id, actor, page.task.form_schema or {}, raw)
    if upload_errors:
        flash(_("Please correct the marked fields."), "danger")
        return _render(page, actor, raw, upload_errors, status=422)
    if action == "upload":
        flash(_("The files are uploaded. Submit the form when it is complete."), "success")
        return _render(page, actor, raw, {})
    return _complete(rt, actor, page, raw)


def _already_done(task_id: int) -> ResponseReturnValue:
    drop_draft(task_id)
    flash(_("This task was already completed (by someone else, or by you in another window). "
            "What you entered was not applied; the case is unchanged by this submission."), "warning")
    return redirect(url_for("inbox.index"))


def _keep_draft(rt: Runtime, actor: Actor, task_id: int, raw: dict[str, Any]) -> ResponseReturnValue:
    """Keep what was entered in the session, for whoever may complete the task."""
    try:
        check_may_keep_draft(rt, actor, task_id)
    except ForbiddenError as exc:
        abort(403, exc.message)
    except ConflictError:
        return _already_done(task_id)
    if save_draft(task_id, raw):
        flash(_("Draft saved. It stays in this browser session until you submit the task."), "success")
    else:
        flash(_("This draft is too large to keep; please submit the task instead."), "warning")
    return redirect(url_for("task_pages.show", task_id=task_id))


def _complete(rt: Runtime, actor: Actor, page: TaskPage, raw: dict[str, Any]) -> ResponseReturnValue:
    """Complete the task with what was entered; the form again with every problem marked when refused."""
    task = page.task
    data = forms_posted.to_data(task.form_schema, raw) if task.form_schema else {}
    try:
        summary = human_tasks.complete_task(rt, actor, task.id, data)
    except InvalidInputError as exc:
        flash(_("Please correct the marked fields."), "danger")
        return _render(page, actor, raw, form_errors.localized_errors(exc.details) or {"(form)": exc.message},
                       status=422)
    except ConflictError:
        now = _page_or_abort(rt, task.id, actor)
        if now.task.status != "open":
            return _already_done(task.id)
        # The case moved on under us, but this task still waits: keep every value.
        flash(_("The case changed while you were working on it. Check the form and submit again."), "warning")
        return _render(now, actor, raw, {}, status=409)
    except ForbiddenError as exc:
        flash(_("You may not complete this task: %(reason)s", reason=exc.message), "danger")
        return _render(page, actor, raw, {}, status=403)
    drop_draft(task.id)
    name = task_title(task, str(get_locale()))
    done = (_("Done: “%(task)s” is completed for case %(case)s.", task=name, case=summary.business_key)
            if summary.business_key else _("Done: “%(task)s” is completed.", task=name))
    flash(Markup('{} <a href="{}" class="alert-link" id="flash-case-link">{}</a>').format(
        done, url_for("cases.case", instance_id=summary.id), _("Open the case")), "success")
    return redirect(_next_page(summary, actor))


def _refused_message(details: dict[str, Any]) -> str:
    """Why files were refused, in the user's language."""
    messages = []
    for item in details.get("files") or []:
        name, reason = item.get("file", ""), item.get("reason")
        if reason == "empty":
            messages.append(_("%(file)s is empty.", file=name))
        elif reason == "too_large":
            messages.append(_("%(file)s is larger than %(size)s.", file=name,
                              size=forms_render.size_label(int(item.get("limit") or 0))))
        elif reason == "type_mismatch":
            messages.append(_("%(file)s: the file name or type does not match its content.", file=name))
        else:
            messages.append(_("%(file)s is not a PDF, JPEG or PNG file.", file=name))
    return " ".join(messages)


def _upload_posted(rt: Runtime, task_id: int, actor: Actor, schema: dict[str, Any],
                   raw: dict[str, Any]) -> dict[str, str]:
    """Store the files chosen in each upload field and add their references to what was entered;
    field → message for what was refused (the references of earlier uploads stay)."""
    errors: dict[str, str] = {}
    for name in forms.upload_fields(schema):
        files = [f for f in request.files.getlist(f"{name}__files") if f.filename]
        if not files:
            continue
        try:
            _field, refs = upload_documents(rt, actor, task_id, name, request.form.get(f"{name}__kind") or None,
                                            uploads_of(files))
        except (ForbiddenError, ConflictError) as exc:
            errors[name] = _("You may not upload files for this task: %(reason)s", reason=exc.message)
            continue
        except InvalidInputError as exc:
            fields = exc.details.get("fields") or {}
            errors[name] = (_refused_message(exc.details) if exc.details.get("files") else
                            _("Choose the kind of document for the files.") if "kind" in fields else exc.message)
            continue
        raw[name] = list(raw.get(name) or []) + [json.dumps(r, ensure_ascii=False) for r in refs]
    return errors
