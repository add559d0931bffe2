"""Drafts: an analyst's work on a process before it is deployed — one per analyst and process, its
files (diagrams, decision tables, forms) kept as text. Drafts are untrusted input like any upload:
the same file-name rules, size limits and XML safety apply when they are saved."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.errors import ConflictError, InvalidInputError, NotFoundError, Problem
from engine.workflow.actors import Actor, require
from engine.workflow.deployments import DEPLOYERS, DeploymentInfo, deploy, list_versions, version_files
from engine.workflow.models import DraftModel
from engine.workflow.parsing import file_kind
from engine.workflow.runtime import Runtime
from engine.workflow.xml_safety import parse_untrusted_xml

from .version_diff import process_files


@dataclass(frozen=True)
class Draft:
    """One analyst's draft of a process."""

    process_key: str
    username: str
    base_deployment_id: int | None
    files: dict[str, str]
    revision: int
    created_at: datetime
    updated_at: datetime


def _draft(row: DraftModel) -> Draft:
    return Draft(row.process_key, row.username, row.base_deployment_id, json.loads(row.files), row.revision,
                 row.created_at, row.updated_at)


def _row(session, actor: Actor, key: str) -> DraftModel | None:
    return session.scalar(select(DraftModel).where(DraftModel.username == actor.username,
                                                   DraftModel.process_key == key))


def file_problems(rt: Runtime, files: Mapping[str, str]) -> list[Problem]:
    """Why a draft's file set may not be saved: names, counts, sizes, unreadable or unsafe content."""
    settings = rt.settings
    problems = []
    if not files:
        problems.append(Problem("(draft)", "a draft needs at least one file"))
    if len(files) > settings.max_files:
        problems.append(Problem("(draft)", f"{len(files)} files; a draft may hold at most {settings.max_files}"))
    for name, text in sorted(files.items()):
        if not isinstance(text, str):
            problems.append(Problem(name, "file content must be text"))
            continue
        content = text.encode()
        if "\\" in name or name.startswith("/") or ".." in name.split("/") or not name.strip():
            problems.append(Problem(name, "file names must be relative paths without '..'"))
        elif file_kind(name) is None:
            problems.append(Problem(name, "only .bpmn, .dmn and .json (form schema) files belong in a draft"))
        elif len(content) > settings.max_file_bytes:
            problems.append(Problem(name, f"{len(content):,} bytes; files may have at most "
                                    f"{settings.max_file_bytes:,}"))
        elif file_kind(name) in ("form", "i18n"):
            try:
                json.loads(text)
            except json.JSONDecodeError as exc:
                problems.append(Problem(name, f"not valid JSON: {exc}"))
        else:
            problems += parse_untrusted_xml(name, content)[1]
    return problems


def get_draft(rt: Runtime, actor: Actor, key: str) -> Draft:
    """The actor's draft of a process, or NotFoundError."""
    require(actor, DEPLOYERS, "edit processes")
    with rt.uow(read_only=True) as uow:
        row = _row(uow.session, actor, key)
        if row is None:
            raise NotFoundError(f"{actor.username} has no draft of {key!r}")
        return _draft(row)


def open_draft(rt: Runtime, actor: Actor, key: str, version: int | None = None) -> Draft:
    """The actor's draft of a process; without one, a new draft from a version (the newest by default)
    holding the files that process needs."""
    require(actor, DEPLOYERS, "edit processes")
    try:
        return get_draft(rt, actor, key)
    except NotFoundError:
        pass
    info, files = version_files(rt, key, version if version is not None else list_versions(rt, key)[0].version)
    texts = {name: content.decode() for name, content in process_files(files, key).items()}
    return save_draft(rt, actor, key, texts, info.deployment_id)


def save_draft(
    rt: Runtime, actor: Actor, key: str, files: Mapping[str, str], base_deployment_id: int | None = None,
    revision: int | None = None,
) -> Draft:
    """Create or replace the actor's draft of a process; `revision` (when given) must be the one the
    caller loaded, so that a save from a stale editor never overwrites newer work."""
    require(actor, DEPLOYERS, "edit processes")
    if not key or len(key) > 255:
        raise InvalidInputError("a draft needs a process key of at most 255 characters")
    problems = file_problems(rt, files)
    if problems:
        raise InvalidInputError(f"the draft cannot be saved: {problems[0]}",
                                {"problems": [p.to_dict() for p in problems]})
    now = rt.clock()
    with rt.uow() as uow:
        row = _row(uow.session, actor, key)
        if row is None:
            if revision not in (None, 0):
                raise ConflictError(f"the draft of {key!r} was discarded meanwhile", {"revision": 0})
            row = DraftModel(username=actor.username, process_key=key, revision=1, created_at=now,
                             base_deployment_id=base_deployment_id, files="{}")
            uow.session.add(row)
        else:
            if revision is not None and revision != row.revision:
                raise ConflictError(f"the draft of {key!r} was saved elsewhere meanwhile (revision {row.revision}); "
                                    "reload it", {"revision": row.revision})
            row.revision += 1
            if base_deployment_id is not None:
                row.base_deployment_id = base_deployment_id
        row.files = json.dumps(dict(sorted(files.items())), ensure_ascii=False)
        row.updated_at = now
        uow.session.flush()
        draft = _draft(row)
        uow.commit()
    return draft


def discard_draft(rt: Runtime, actor: Actor, key: str) -> None:
    """Delete the actor's draft of a process."""
    require(actor, DEPLOYERS, "edit processes")
    with rt.uow() as uow:
        row = _row(uow.session, actor, key)
        if row is None:
            raise NotFoundError(f"{actor.username} has no draft of {key!r}")
        uow.session.delete(row)
        uow.commit()


def deploy_draft(rt: Runtime, actor: Actor, key: str, comment: str) -> DeploymentInfo:
    """Deploy the actor's saved draft as a new version (validated like any deployment); the draft is
    done with once it is deployed."""
    draft = get_draft(rt, actor, key)
    files = {name: text.encode() for name, text in draft.files.items()}
    if not process_files(files, key):
        raise InvalidInputError(f"the draft holds no process {key!r}",
                                {"problems": [Problem("(draft)", f"no BPMN file holds the process {key!r}").to_dict()]})
    info = deploy(rt, files, actor, comment)
    if not info.created:
        versions = ", ".join(str(v) for k, v in info.processes if k == key)
        raise ConflictError(f"nothing new to deploy: this content is already version {versions} of {key!r} "
                            "(roll back to it to make it the newest)", {"deployment_id": info.id})
    discard_draft(rt, actor, key)
    return info
