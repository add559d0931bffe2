"""Deployments: immutable, content-addressed file sets, and the process definitions they hold."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engine.errors import ConflictError, DeploymentInvalidError, NotFoundError, Problem

from .actors import Actor, require
from .models import DeploymentFileModel, DeploymentModel, InstanceModel, ProcessDefinitionModel
from .parsing import content_hash, file_kind
from .runtime import Runtime
from .unit_of_work import UnitOfWork
from .validation import validate_files

DEPLOYERS = {"analyst", "admin"}
ENDED = ("completed", "terminated")


@dataclass(frozen=True)
class DeploymentInfo:
    """What a deploy call produced (or found)."""

    id: int
    hash: str
    created: bool
    deployed_at: datetime
    comment: str
    processes: list[tuple[str, int]]
    files: list[str]


@dataclass(frozen=True)
class ProcessInfo:
    """One deployed process definition."""

    key: str
    name: str
    version: int
    hash: str
    deployment_id: int
    deployed_at: datetime
    latest: bool


def validate(rt: Runtime, files: Mapping[str, bytes], actor: Actor) -> list[Problem]:
    """Every problem in a file set; nothing is stored. Only those who deploy validate (parsing untrusted
    diagrams is work the server does for them)."""
    require(actor, DEPLOYERS, "validate processes")
    return validate_files(files, rt.registry, rt.settings)[1]


def _info(session, deployment: DeploymentModel, created: bool) -> DeploymentInfo:
    defs = session.scalars(select(ProcessDefinitionModel).where(
        ProcessDefinitionModel.deployment_id == deployment.id).order_by(ProcessDefinitionModel.key))
    names = session.scalars(select(DeploymentFileModel.name).where(
        DeploymentFileModel.deployment_id == deployment.id).order_by(DeploymentFileModel.name))
    return DeploymentInfo(deployment.id, deployment.hash, created, deployment.deployed_at, deployment.comment,
                          [(d.key, d.version) for d in defs], list(names))


def deploy(rt: Runtime, files: Mapping[str, bytes], actor: Actor, comment: str = "") -> DeploymentInfo:
    """Validate and store a file set; identical content returns the existing deployment."""
    require(actor, DEPLOYERS, "deploy processes")
    digest = content_hash(files)
    with rt.uow() as uow:
        existing = uow.session.scalar(select(DeploymentModel).where(DeploymentModel.hash == digest))
        if existing is not None:
            return _info(uow.session, existing, created=False)
    parsed, problems = validate_files(files, rt.registry, rt.settings)
    if problems or parsed is None:
        raise DeploymentInvalidError(problems=problems)
    now = rt.clock()
    with rt.uow() as uow:
        session = uow.session
        existing = session.scalar(select(DeploymentModel).where(DeploymentModel.hash == digest))
        if existing is not None:  # deployed by someone else meanwhile
            return _info(session, existing, created=False)
        deployment = DeploymentModel(hash=digest, comment=comment, deployed_by=actor.username, deployed_at=now)
        session.add(deployment)
        session.flush()
        for name in sorted(files):
            session.add(DeploymentFileModel(
                deployment_id=deployment.id, name=name, kind=file_kind(name) or "other",
                sha256=hashlib.sha256(files[name]).hexdigest(), content=files[name]))
        for key, process in sorted(parsed.processes.items()):
            latest = session.scalar(
                select(func.max(ProcessDefinitionModel.version)).where(ProcessDefinitionModel.key == key)) or 0
            session.add(ProcessDefinitionModel(
                deployment_id=deployment.id, key=key, name=process.name, version=latest + 1,
                file_name=process.file, deployed_at=now))
        session.flush()
        info = _info(session, deployment, created=True)
        uow.commit()
    rt.specs.put(deployment.id, parsed)
    return info


def list_processes(rt: Runtime, *, all_versions: bool = False) -> list[ProcessInfo]:
    """Deployed process definitions, newest version first per key."""
    with rt.uow() as uow:
        rows = uow.session.execute(
            select(ProcessDefinitionModel, DeploymentModel.hash)
            .join(DeploymentModel, DeploymentModel.id == ProcessDefinitionModel.deployment_id)
            .order_by(ProcessDefinitionModel.key, ProcessDefinitionModel.version.desc())
        ).all()
    result, seen = [], set()
    for definition, digest in rows:
        latest = definition.key not in seen
        seen.add(definition.key)
        if latest or all_versions:
            result.append(ProcessInfo(definition.key, definition.name, definition.version, digest,
                                      definition.deployment_id, definition.deployed_at, latest))
    return result


def deployed_file_for(rt: Runtime, actor: Actor, deployment_id: int, name: str) -> bytes:
    """The exact bytes of a deployed file, for those who deploy or audit (staff see a case's diagram through
    the case, which checks that they may read it)."""
    require(actor, DEPLOYERS | {"auditor"}, "read deployed files")
    return deployed_file(rt, deployment_id, name)


def deployed_file(rt: Runtime, deployment_id: int, name: str) -> bytes:
    """The exact bytes of a deployed file (the caller has checked who asks)."""
    with rt.uow(read_only=True) as uow:
        return file_in(uow, deployment_id, name)


def file_in(uow: UnitOfWork, deployment_id: int, name: str) -> bytes:
    """The exact bytes of a deployed file, in the caller's unit of work (the caller has checked who asks)."""
    row = uow.session.get(DeploymentFileModel, (deployment_id, name))
    if row is None:
        raise NotFoundError(f"deployment {deployment_id} has no file {name!r}")
    return row.content


@dataclass(frozen=True)
class VersionInfo:
    """One version of a process: what it runs, who made it the newest, and how many cases run on it."""

    definition_id: int
    key: str
    name: str
    version: int
    deployment_id: int
    hash: str
    file_name: str
    deployed_by: str
    deployed_at: datetime
    comment: str
    running: int
    latest: bool
    # A rollback: the version whose content this version runs again.
    rolled_back_from: int | None = None


def list_versions(rt: Runtime, key: str) -> list[VersionInfo]:
    """Every version of a process, newest first, with the number of its unfinished instances."""
    with rt.uow(read_only=True) as uow:
        rows = uow.session.execute(
            select(ProcessDefinitionModel, DeploymentModel)
            .join(DeploymentModel, DeploymentModel.id == ProcessDefinitionModel.deployment_id)
            .where(ProcessDefinitionModel.key == key).order_by(ProcessDefinitionModel.version)
        ).all()
        running = dict(uow.session.execute(
            select(InstanceModel.definition_id, func.count()).where(
                InstanceModel.process_key == key, InstanceModel.status.not_in(ENDED))
            .group_by(InstanceModel.definition_id)).all())
    if not rows:
        raise NotFoundError(f"no deployed process {key!r}")
    first_of: dict[int, int] = {}
    result = []
    for definition, deployment in rows:
        earlier = first_of.setdefault(deployment.id, definition.version)
        result.append(VersionInfo(
            definition.id, key, definition.name, definition.version, deployment.id, deployment.hash,
            definition.file_name, definition.deployed_by or deployment.deployed_by, definition.deployed_at,
            definition.comment if definition.comment is not None else deployment.comment,
            running.get(definition.id, 0), definition is rows[-1][0],
            earlier if earlier != definition.version else None))
    return result[::-1]


def version_files(rt: Runtime, key: str, version: int) -> tuple[VersionInfo, dict[str, bytes]]:
    """One version of a process and every file of the deployment it runs."""
    info = next((v for v in list_versions(rt, key) if v.version == version), None)
    if info is None:
        raise NotFoundError(f"process {key!r} has no version {version}")
    with rt.uow(read_only=True) as uow:
        files = {f.name: f.content for f in uow.session.scalars(
            select(DeploymentFileModel).where(DeploymentFileModel.deployment_id == info.deployment_id))}
    return info, files


def rollback(rt: Runtime, key: str, version: int, actor: Actor, comment: str = "") -> VersionInfo:
    """Make an older version's content the newest version of the process: a new version number that
    runs the existing (immutable) deployment. New instances start on it; running ones stay where they are."""
    require(actor, DEPLOYERS, "roll back processes")
    now = rt.clock()
    with rt.uow() as uow:
        session = uow.session
        old = session.scalar(select(ProcessDefinitionModel).where(
            ProcessDefinitionModel.key == key, ProcessDefinitionModel.version == version))
        if old is None:
            raise NotFoundError(f"process {key!r} has no version {version}")
        newest = session.scalar(select(ProcessDefinitionModel).where(ProcessDefinitionModel.key == key)
                                .order_by(ProcessDefinitionModel.version.desc()).limit(1))
        if newest.deployment_id == old.deployment_id:
            raise ConflictError(f"version {newest.version} of {key!r} already runs this content",
                                {"version": newest.version})
        session.add(ProcessDefinitionModel(
            deployment_id=old.deployment_id, key=key, name=old.name, version=newest.version + 1,
            file_name=old.file_name, deployed_at=now, deployed_by=actor.username,
            comment=comment or f"rollback to version {version}"))
        session.flush()
        uow.commit()
    return list_versions(rt, key)[0]
