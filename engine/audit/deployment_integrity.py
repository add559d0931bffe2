"""Whether every deployment still holds what was deployed: each stored file against its sha256, each file set
against the deployment's hash, and that hash against the one each case recorded when it started."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.workflow.actors import Actor, require
from engine.workflow.models import DeploymentFileModel, DeploymentModel, EventModel, InstanceModel
from engine.workflow.parsing import content_hash
from engine.workflow.runtime import Runtime

AUDITORS = {"auditor", "admin"}


@dataclass(frozen=True)
class DeploymentProblem:
    """A deployment whose stored files are not what was deployed; `file` names the altered one when known."""

    deployment_id: int
    file: str | None
    reason: str

    def __str__(self) -> str:
        return f"deployment {self.deployment_id}" + (f" file {self.file}" if self.file else "") + f": {self.reason}"


@dataclass
class DeploymentsReport:
    """Every deployment's files checked against the hashes recorded when it was deployed."""

    deployments: int = 0
    files: int = 0
    problems: list[DeploymentProblem] = field(default_factory=list)
    # deployment id → {"hash": the recorded set hash, "files": {name: sha256 of the stored content}}
    hashes: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every deployment is intact."""
        return not self.problems


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def check_deployments(session: Any) -> DeploymentsReport:
    """Every deployment's files against their recorded hashes, in the caller's transaction."""
    report = DeploymentsReport()
    deployments = {d.id: d.hash for d in session.execute(select(DeploymentModel.id, DeploymentModel.hash))}
    contents: dict[int, dict[str, bytes]] = {i: {} for i in deployments}
    for row in session.execute(select(DeploymentFileModel.deployment_id, DeploymentFileModel.name,
                                      DeploymentFileModel.sha256, DeploymentFileModel.content)
                               .order_by(DeploymentFileModel.deployment_id, DeploymentFileModel.name)):
        report.files += 1
        contents.setdefault(row.deployment_id, {})[row.name] = row.content
        if _sha256(row.content) != row.sha256:
            report.problems.append(DeploymentProblem(row.deployment_id, row.name, "content altered after it was "
                                                     "deployed (its sha256 is not the one recorded at deploy time)"))
    flagged = {p.deployment_id for p in report.problems}
    for deployment_id, recorded in sorted(deployments.items()):
        report.deployments += 1
        files = contents.get(deployment_id, {})
        report.hashes[deployment_id] = {"hash": recorded, "files": {n: _sha256(c) for n, c in sorted(files.items())}}
        if deployment_id not in flagged and content_hash(files) != recorded:
            report.problems.append(DeploymentProblem(deployment_id, None, "the file set no longer matches the "
                                                     "deployment's hash: a file was added, removed or renamed, or "
                                                     "a file and its recorded hash were both rewritten"))
    # The hash each case recorded (hash-chained) when it started must still be its deployment's hash.
    started = session.execute(select(InstanceModel.deployment_id, InstanceModel.id, EventModel.payload)
                              .join(EventModel, EventModel.instance_id == InstanceModel.id)
                              .where(EventModel.seq == 1, EventModel.type == "instance_started")
                              .order_by(InstanceModel.id))
    seen: set[int] = set()
    for deployment_id, instance_id, payload in started:
        if deployment_id in seen or deployment_id not in deployments:
            continue
        recorded = json.loads(payload).get("deployment")
        if recorded and recorded != deployments[deployment_id]:
            seen.add(deployment_id)
            report.problems.append(DeploymentProblem(deployment_id, None, f"case {instance_id} started on a "
                                                     f"deployment with hash {recorded[:12]}…, which is not this "
                                                     "deployment's hash any more: the deployment was rewritten"))
    return report


def verify_deployments(rt: Runtime, actor: Actor) -> DeploymentsReport:
    """Recompute every deployment's content hash and name each stored diagram, decision table or form that
    was altered after it was deployed (auditors, admins)."""
    require(actor, AUDITORS, "verify deployments")
    with rt.uow(read_only=True) as uow:
        return check_deployments(uow.session)
