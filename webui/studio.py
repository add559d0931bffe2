"""The analysts' studio: processes and their versions, a version's files and diagram, the editor of a
draft (modeler, decision tables, forms with a live preview, dry runs), deploy, diff, rollback, upload, and
moving waiting cases to a newer version."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup

from engine.authoring import drafts, migration, version_diff
from engine.errors import ConflictError, DeploymentInvalidError, InvalidInputError, NotFoundError, Problem
from engine.workflow import DEPLOYERS, deployments, translations

from . import forms_render
from .auth import acting, role_label
from .context import runtime

bp = Blueprint("studio", __name__, url_prefix="/studio")

MAX_COMMENT = 2000


@bp.before_request
@login_required
def _analysts_only() -> None:
    """The studio is for analysts and administrators (the engine checks again on every change)."""
    if not acting().has_any(DEPLOYERS):
        abort(403)


def _comment() -> str:
    return (request.form.get("comment") or "").strip()[:MAX_COMMENT]


def _processes() -> list[dict[str, Any]]:
    rt = runtime()
    return [{"key": p.key, "name": p.name, "versions": deployments.list_versions(rt, p.key)}
            for p in deployments.list_processes(rt)]


@bp.get("/")
def index() -> ResponseReturnValue:
    """Every process with its versions: who deployed each, when, hash, comment, running instances."""
    return render_template("studio/index.html", processes=_processes(), problems=[])


def _uploaded() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for storage in request.files.getlist("files"):
        name = (storage.filename or "").strip()
        if name:
            files[name] = storage.read()
    return files


@bp.post("/upload")
def upload() -> ResponseReturnValue:
    """Validate, or deploy, uploaded BPMN/DMN/form files; every problem is listed by file and element."""
    files = _uploaded()
    rt = runtime()
    try:
        if request.form.get("action") == "deploy":
            info = deployments.deploy(rt, files, acting(), _comment())
            if info.created:
                flash(_("Deployed: %(processes)s.", processes=", ".join(f"{k} v{v}" for k, v in info.processes)),
                      "success")
            else:
                flash(_("These files were deployed before; nothing changed."), "info")
            return redirect(url_for(".index"))
        problems = deployments.validate(rt, files, acting())
    except DeploymentInvalidError as exc:
        problems = exc.problems
    if not problems:
        flash(_("No problems found."), "success")
        return redirect(url_for(".index"))
    return render_template("studio/index.html", processes=_processes(), problems=problems), 422


@bp.get("/<key>/versions/<int:version>")
def version(key: str, version: int) -> ResponseReturnValue:
    """One version: its files (each downloadable as deployed) and its diagram."""
    info, files = _version_or_404(key, version)
    needed = version_diff.process_files(files, key)
    return render_template("studio/version.html", info=info, files=sorted(files), needed=needed,
                           versions=deployments.list_versions(runtime(), key))


def _version_or_404(key: str, version: int) -> tuple[deployments.VersionInfo, dict[str, bytes]]:
    try:
        return deployments.version_files(runtime(), key, version)
    except NotFoundError as exc:
        abort(404, exc.message)


@bp.post("/<key>/rollback")
def rollback(key: str) -> ResponseReturnValue:
    """Make an older version's content the newest version (running instances stay on theirs)."""
    try:
        number = int(request.form.get("version", ""))
    except ValueError:
        abort(400, _("Choose a version."))
    try:
        made = deployments.rollback(runtime(), key, number, acting(), _comment())
    except ConflictError as exc:
        flash(exc.message, "warning")
        return redirect(url_for(".index"))
    except NotFoundError as exc:
        abort(404, exc.message)
    flash(_("Version %(new)d of %(key)s now runs the content of version %(old)d.", new=made.version, key=key,
            old=number), "success")
    return redirect(url_for(".index"))


@bp.get("/<key>/diff")
def diff(key: str) -> ResponseReturnValue:
    """What changed between two versions: a list, and markers on both diagrams."""
    versions = _versions_or_404(key)
    newest = versions[0].version
    old = request.args.get("from", type=int) or max(1, newest - 1)
    new = request.args.get("to", type=int) or newest
    try:
        result = version_diff.diff_versions(runtime(), key, old, new)
    except NotFoundError as exc:
        abort(404, exc.message)
    markers: dict[str, dict[str, str]] = {"old": {}, "new": {}}
    for change in result.changes:
        if change.element and change.file in (result.old.file_name, result.new.file_name):
            side = "old" if change.kind == "removed" else "new"
            markers[side][change.element] = change.kind
    return render_template("studio/diff.html", diff=result, versions=versions, markers=markers)


def _versions_or_404(key: str) -> list[deployments.VersionInfo]:
    try:
        return deployments.list_versions(runtime(), key)
    except NotFoundError as exc:
        abort(404, exc.message)


def _editor(key: str, draft: drafts.Draft, problems: list[Problem], status: int = 200) -> ResponseReturnValue:
    rt = runtime()
    main = next((name for name, content in draft.files.items() if name.endswith(".bpmn")
                 and version_diff.process_files({name: content.encode()}, key)), None)
    catalogue = [{"name": h.name, "description": h.description, "required": sorted(h.required),
                  "optional": sorted(h.optional)} for h in rt.registry]
    roles = sorted(rt.settings.known_roles)
    return render_template(
        "studio/editor.html", key=key, draft=draft, main=main, problems=problems,
        setup={"key": key, "main": main, "files": draft.files, "revision": draft.revision,
               "base_deployment_id": draft.base_deployment_id, "operators": catalogue, "roles": roles,
               "roleLabels": {r: role_label(r) for r in roles}, "problems": [p.to_dict() for p in problems],
               "urls": {"draft": url_for("api_studio.put_draft", key=key),
                        "validate": url_for("api_processes.validate_upload"),
                        "preview": url_for(".preview_form"), "dryRun": url_for("api_dry_runs.run"),
                        "translations": url_for(".translation_rows"),
                        "scenarios": url_for("api_dry_runs.list_scenarios", key=key)}},
    ), status


@bp.get("/<key>/edit")
def edit(key: str) -> ResponseReturnValue:
    """The editor of the analyst's draft of a process (a new draft starts from the newest version)."""
    try:
        draft = drafts.open_draft(runtime(), acting(), key, request.args.get("version", type=int))
    except NotFoundError as exc:
        abort(404, exc.message)
    return _editor(key, draft, [])


@bp.post("/<key>/deploy")
def deploy(key: str) -> ResponseReturnValue:
    """Deploy the saved draft as a new version with a comment."""
    actor = acting()
    try:
        info = drafts.deploy_draft(runtime(), actor, key, _comment())
    except NotFoundError as exc:
        abort(404, exc.message)
    except ConflictError as exc:
        flash(exc.message, "warning")
        return redirect(url_for(".edit", key=key))
    except InvalidInputError as exc:
        problems = exc.problems if isinstance(exc, DeploymentInvalidError) else [
            Problem(**p) for p in exc.details.get("problems", [])] or [Problem("(draft)", exc.message)]
        flash(_("The draft was not deployed: fix the problems marked below."), "danger")
        return _editor(key, drafts.get_draft(runtime(), actor, key), problems, 422)
    version = next(v for k, v in info.processes if k == key)
    flash(_("Deployed as version %(version)d.", version=version), "success")
    return redirect(url_for(".version", key=key, version=version))


@bp.post("/<key>/discard")
def discard(key: str) -> ResponseReturnValue:
    """Throw the analyst's draft of a process away."""
    try:
        drafts.discard_draft(runtime(), acting(), key)
    except NotFoundError as exc:
        abort(404, exc.message)
    flash(_("The draft was discarded."), "info")
    return redirect(url_for(".index"))


@bp.post("/forms/preview")
def preview_form() -> ResponseReturnValue:
    """A form schema rendered as the task page renders it (the live preview of the form editor)."""
    body = request.get_json(silent=True) or {}
    text = body.get("schema") if isinstance(body, dict) else None
    try:
        schema = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError as exc:
        return jsonify({"ok": False, "message": _("Not valid JSON: %(error)s", error=str(exc))}), 422
    if not isinstance(schema, dict):
        return jsonify({"ok": False, "message": _("A form schema must be a JSON object.")}), 422
    problems = _form_problems(text)
    if problems:  # what the engine would refuse is not rendered: it may not even be a form
        return jsonify({"ok": False, "html": "", "problems": problems}), 422
    lang = str(get_locale() or "zh")
    fields = forms_render.fields(schema, {}, {}, lang)
    html = render_template("studio/_preview.html", fields=fields, title=forms_render.title(schema, lang))
    return jsonify({"ok": True, "html": Markup(html), "problems": []})


@bp.post("/translations")
def translation_rows() -> ResponseReturnValue:
    """The translation table of one draft file: each text people read, its English and its Chinese so far."""
    body = request.get_json(silent=True) or {}
    files, source = body.get("files"), body.get("source")
    if not (isinstance(files, dict) and isinstance(source, str) and isinstance(files.get(source), str)
            and all(isinstance(v, str) for v in files.values())):
        return jsonify({"ok": False, "message": _("Choose a diagram or decision table of the draft.")}), 422
    name, rows = translations.editor_rows(files, source, "zh")
    return jsonify({"ok": True, "file": name, "rows": rows})


def _form_problems(text: str) -> list[str]:
    """What a deployment's validation says about this form schema (the engine's own check)."""
    name = "forms/preview.json"
    return [p.message for p in deployments.validate(runtime(), {name: text.encode()}, acting()) if p.file == name]


def _default_source(versions: list[deployments.VersionInfo]) -> int:
    """The deployment of the newest older version that still has running cases (else the one before the newest)."""
    older = versions[1:] or versions
    return next((v.deployment_id for v in older if v.running), older[0].deployment_id)


def _deployment_arg(name: str, default: int) -> int:
    raw = request.values.get(name, "")
    if not raw:
        return default
    if not raw.isdigit():
        abort(400, _("Choose a version."))
    return int(raw)


def _seen_versions() -> dict[int, int]:
    """instance id → the version the dry run showed, from the form's `move` fields ("id:version")."""
    seen: dict[int, int] = {}
    for item in request.form.getlist("move"):
        instance_id, _sep, version = item.partition(":")
        if not (instance_id.isdigit() and version.isdigit()):
            abort(400, _("Run the dry run again."))
        seen[int(instance_id)] = int(version)
    return seen


@bp.route("/<key>/migrate", methods=["GET", "POST"])
def migrate(key: str) -> ResponseReturnValue:
    """Move waiting cases between versions: a dry run first, then only those it said can move."""
    versions = _versions_or_404(key)
    source = _deployment_arg("from", _default_source(versions))
    target = _deployment_arg("to", versions[0].deployment_id)
    report, status = None, 200
    if request.method == "POST":
        seen = _seen_versions() if request.form.get("action") == "migrate" else None
        if seen == {}:
            abort(400, _("Run the dry run again."))
        try:
            # The versions seen in the dry run: a case changed since is reported as a conflict, not moved.
            report = migration.migrate(runtime(), acting(), source, target, process_key=key, dry_run=seen is None,
                                       instance_ids=sorted(seen) if seen else None, expected_versions=seen)
        except InvalidInputError as exc:
            flash(exc.message, "danger")
            status = 422
    return render_template("studio/migrate.html", key=key, versions=versions, source=source, target=target,
                           report=report), status
