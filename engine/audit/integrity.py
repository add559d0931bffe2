"""Whether the stored record is what ran: every history chain, every deployment's files, and a checkpoint —
the chain heads and deployment hashes at one moment, kept outside the system — that a later check compares
against, so that even a history rewritten and rehashed consistently is caught."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_

from engine.errors import InvalidInputError, NotFoundError
from engine.workflow.actors import Actor, require
from engine.workflow.checkpoints import LatestCheckpoint
from engine.workflow.history import VerifyReport, verify_chains
from engine.workflow.jsonutil import canonical_dumps
from engine.workflow.models import EventModel, InstanceModel
from engine.workflow.progress import Progress, quiet
from engine.workflow.runtime import Runtime

from .deployment_integrity import AUDITORS, DeploymentProblem, DeploymentsReport, check_deployments
from .seal_checks import RowProblem, RowsReport, check_rows, check_states

CHECKPOINT_FORMAT = "insureflow-checkpoint/1"
_CHUNK = 500


@dataclass
class IntegrityReport:
    """The whole database: every history chain, every deployment, every case's stored state, every sealed
    (money) row, and the latest signed checkpoint."""

    chains: VerifyReport
    deployments: DeploymentsReport
    damaged_states: list[tuple[int, str]] = field(default_factory=list)  # (instance, why it is not as written)
    rows: RowsReport = field(default_factory=lambda: RowsReport(problems=[]))
    # The latest signed checkpoint (engine/workflow/checkpoints.py), used automatically: its file, why it cannot be
    # trusted (if so), and the database compared with it.
    checkpoint_file: str | None = None
    checkpoint_problem: str | None = None
    checkpoint: CheckpointCheck | None = None

    @property
    def ok(self) -> bool:
        """Whether nothing was found altered."""
        return (self.chains.ok and self.deployments.ok and not self.damaged_states and self.rows.ok
                and self.checkpoint_problem is None and (self.checkpoint is None or not self.checkpoint.problems))


def _latest_checkpoint(rt: Runtime) -> tuple[LatestCheckpoint | None, dict[int, int] | None, str | None]:
    """The latest signed checkpoint, the head seq of each chain it signed (events after them must be keyed),
    and why it cannot be used (if so)."""
    latest = rt.checkpoints.latest() if rt.checkpoints is not None else None
    if latest is None:
        return None, None, None
    if not latest.trusted:
        return latest, None, latest.problem
    try:
        heads, _deployments = _parsed(latest.body)
    except InvalidInputError as exc:
        return latest, None, str(exc)
    return latest, {i: seq for i, (seq, _h) in heads.items()}, None


def verify_all(rt: Runtime, actor: Actor, progress: Progress = quiet) -> IntegrityReport:
    """Verify every history chain (keyed), every deployment, every stored state and sealed row, and the latest
    signed checkpoint (auditors, admins); `progress` is told after each chain and each later check."""
    require(actor, AUDITORS, "verify the history")
    latest, legacy_heads, problem = _latest_checkpoint(rt)
    with rt.uow(read_only=True) as uow:
        session = uow.session
        chains = verify_chains(session, keys=rt.audit_keys, legacy_heads=legacy_heads, progress=progress)
        deployments = check_deployments(session)
        progress("deployments", 1, 1)
        states = check_states(session, rt.audit_keys, chains.states, rt.unseal)
        progress("stored states", 1, 1)
        rows = check_rows(session, rt.audit_keys)
        progress("money rows", 1, 1)
        report = IntegrityReport(chains, deployments, states, rows)
    if latest is not None:
        report.checkpoint_file, report.checkpoint_problem = latest.path.name, problem
        if problem is None and latest.body is not None:
            report.checkpoint = check_checkpoint(rt, actor, latest.body, current=report)
    return report


def _row_problem(p: RowProblem) -> dict[str, Any]:
    return {"table": p.table, "row": p.row_id, "reason": p.reason}


def report_dict(report: IntegrityReport) -> dict[str, Any]:
    """The integrity report as JSON-ready data."""
    return {
        "ok": report.ok, "instances": report.chains.instances, "events": report.chains.events,
        "legacy_events": report.chains.legacy_events,
        "breaks": [{"instance": b.instance_id, "seq": b.seq, "event_id": b.event_id, "reason": b.reason}
                   for b in report.chains.breaks],
        "deployments": report.deployments.deployments, "files": report.deployments.files,
        "deployment_problems": [{"deployment": p.deployment_id, "file": p.file, "reason": p.reason}
                                for p in report.deployments.problems],
        "damaged_states": [{"instance": i, "reason": why} for i, why in report.damaged_states],
        "sealed_rows": report.rows.checked, "unsealed_rows": report.rows.unsealed_legacy,
        "row_problems": [_row_problem(p) for p in report.rows.problems or []],
        "signed_checkpoint": None if report.checkpoint_file is None else {
            "file": report.checkpoint_file, "problem": report.checkpoint_problem,
            "generated_at": report.checkpoint.generated_at if report.checkpoint else None,
            "problems": [{"kind": p.kind, "id": p.id, "seq": p.seq, "file": p.file, "reason": p.reason}
                         for p in (report.checkpoint.problems if report.checkpoint else [])]},
    }


def verify_case(rt: Runtime, actor: Actor, instance_id: int) -> tuple[VerifyReport, list[DeploymentProblem]]:
    """One case's chain, and the problems of the deployment it runs on (auditors, admins)."""
    require(actor, AUDITORS, "verify the history")
    with rt.uow(read_only=True) as uow:
        deployment_id = uow.session.scalar(select(InstanceModel.deployment_id).where(InstanceModel.id == instance_id))
        if deployment_id is None:
            raise NotFoundError(f"no instance {instance_id}")
        chain = verify_chains(uow.session, instance_id, keys=rt.audit_keys)
        problems = [p for p in check_deployments(uow.session).problems if p.deployment_id == deployment_id]
    return chain, problems


def _digest(heads: dict[str, Any], deployments: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_dumps({"heads": heads, "deployments": deployments}).encode()).hexdigest()


def _heads(session: Any) -> dict[str, Any]:
    return {str(row.id): {"seq": row.last_seq, "hash": row.last_hash} for row in session.execute(
        select(InstanceModel.id, InstanceModel.last_seq, InstanceModel.last_hash).order_by(InstanceModel.id))}


def make_checkpoint(rt: Runtime, actor: Actor) -> dict[str, Any]:
    """The verification report of the whole database with every chain's head (seq, hash), every deployment's
    hashes and a digest over them: JSON to be stored outside the system and checked against later."""
    require(actor, AUDITORS, "make a checkpoint")
    moment = rt.clock()
    with rt.uow(read_only=True) as uow:
        report = IntegrityReport(verify_chains(uow.session, keys=rt.audit_keys), check_deployments(uow.session))
        heads = _heads(uow.session)
    deployments = {str(k): v for k, v in sorted(report.deployments.hashes.items())}
    return {"format": CHECKPOINT_FORMAT, "generated_at": moment.isoformat(), "generated_by": actor.username,
            "verification": report_dict(report), "heads": heads, "deployments": deployments,
            "digest": _digest(heads, deployments)}


def write_signed_checkpoint(rt: Runtime, generated_by: str = "worker") -> str | None:
    """The worker's checkpoint: every chain's head and every deployment's hashes (read, not re-verified: that
    is `verify`'s work), signed and written to the checkpoint folder; its file name (None: no folder set)."""
    if rt.checkpoints is None or rt.checkpoints.signing_key is None:
        return None
    moment = rt.clock()
    with rt.uow(read_only=True) as uow:
        heads = _heads(uow.session)
        deployments = {str(k): v for k, v in sorted(check_deployments(uow.session).hashes.items())}
    body = {"format": CHECKPOINT_FORMAT, "generated_at": moment.isoformat(), "generated_by": generated_by,
            "audit_key": rt.audit_keys.current if rt.audit_keys is not None else None,
            "heads": heads, "deployments": deployments, "digest": _digest(heads, deployments)}
    return rt.checkpoints.write(body, moment).name


@dataclass(frozen=True)
class CheckpointProblem:
    """Something that does not extend the checkpoint: a case's history or a deployment, and why."""

    kind: str  # "checkpoint", "instance" or "deployment"
    id: int | None
    reason: str
    seq: int | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = {"checkpoint": "checkpoint", "instance": f"instance {self.id}",
                 "deployment": f"deployment {self.id}"}[self.kind]
        where += f" event #{self.seq}" if self.seq is not None else ""
        where += f" file {self.file}" if self.file else ""
        return f"{where}: {self.reason}"


@dataclass
class CheckpointCheck:
    """A stored checkpoint compared with the database now."""

    generated_at: str
    instances_checked: int
    deployments_checked: int
    instances_since: int  # cases started after the checkpoint
    problems: list[CheckpointProblem]
    current: IntegrityReport

    @property
    def ok(self) -> bool:
        """Whether every chain still extends its recorded head, every deployment is unchanged and nothing
        is broken now."""
        return not self.problems and self.current.ok


def _parsed(checkpoint: Any) -> tuple[dict[int, tuple[int, str]], dict[int, dict[str, Any]]]:
    def bad(message: str) -> InvalidInputError:
        return InvalidInputError(f"not an InsureFlow checkpoint: {message}", {"fields": {"checkpoint": message}})

    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise bad(f"format must be {CHECKPOINT_FORMAT!r}")
    heads, deployments = checkpoint.get("heads"), checkpoint.get("deployments")
    if not isinstance(heads, dict) or not isinstance(deployments, dict) or not isinstance(checkpoint.get("digest"),
                                                                                           str):
        raise bad("heads, deployments and digest are required")
    try:
        parsed_heads = {int(k): (int(v["seq"]), str(v["hash"])) for k, v in heads.items()}
        parsed_deployments = {int(k): {"hash": str(v["hash"]), "files": {str(n): str(h) for n, h in
                                                                          dict(v["files"]).items()}}
                              for k, v in deployments.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise bad(f"a head or deployment entry is malformed ({exc})") from None
    return parsed_heads, parsed_deployments


def _current_hashes(session: Any, heads: dict[int, tuple[int, str]]) -> dict[tuple[int, int], str]:
    wanted = [(i, seq) for i, (seq, _h) in heads.items() if seq > 0]
    found: dict[tuple[int, int], str] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        for row in session.execute(select(EventModel.instance_id, EventModel.seq, EventModel.hash).where(
                tuple_(EventModel.instance_id, EventModel.seq).in_(chunk))):
            found[(row.instance_id, row.seq)] = row.hash
    return found


def check_checkpoint(rt: Runtime, actor: Actor, checkpoint: Any,
                     current: IntegrityReport | None = None) -> CheckpointCheck:
    """Compare a stored checkpoint with the database: every chain must still extend its recorded head
    (the event at the head's number still has the head's hash, and the chain verifies), every deployment
    must still hold the same files, and the checkpoint's own digest must match (auditors, admins).
    `current`: the verification just made, when there is one (not made again)."""
    require(actor, AUDITORS, "check a checkpoint")
    heads, deployments = _parsed(checkpoint)
    problems: list[CheckpointProblem] = []
    raw_heads = {str(k): {"seq": s, "hash": h} for k, (s, h) in heads.items()}
    raw_deployments = {str(k): v for k, v in deployments.items()}
    if _digest(raw_heads, raw_deployments) != checkpoint["digest"]:
        problems.append(CheckpointProblem("checkpoint", None, "the checkpoint file itself was altered (its digest "
                                          "does not match its heads and deployments)"))
    with rt.uow(read_only=True) as uow:
        session = uow.session
        if current is None:
            current = IntegrityReport(verify_chains(session, keys=rt.audit_keys), check_deployments(session))
        now = {row.id: row.last_seq for row in session.execute(select(InstanceModel.id, InstanceModel.last_seq))}
        at_head = _current_hashes(session, heads)
    for instance_id, (seq, digest) in sorted(heads.items()):
        if instance_id not in now:
            problems.append(CheckpointProblem("instance", instance_id, "the case is gone"))
        elif now[instance_id] < seq:
            problems.append(CheckpointProblem("instance", instance_id, f"its history now ends at event "
                                              f"#{now[instance_id]}: events recorded by the checkpoint were removed",
                                              seq))
        elif seq and at_head.get((instance_id, seq)) != digest:
            problems.append(CheckpointProblem("instance", instance_id, "this event no longer has the hash the "
                                              "checkpoint recorded: the history up to it was rewritten", seq))
    for deployment_id, recorded in sorted(deployments.items()):
        actual = current.deployments.hashes.get(deployment_id)
        if actual is None:
            problems.append(CheckpointProblem("deployment", deployment_id, "the deployment is gone"))
            continue
        names = sorted(set(recorded["files"]) | set(actual["files"]))
        changed = [n for n in names if recorded["files"].get(n) != actual["files"].get(n)]
        for name in changed:
            what = ("added since the checkpoint" if name not in recorded["files"] else
                    "removed since the checkpoint" if name not in actual["files"] else
                    "altered since the checkpoint")
            problems.append(CheckpointProblem("deployment", deployment_id, what, file=name))
        if not changed and actual["hash"] != recorded["hash"]:
            problems.append(CheckpointProblem("deployment", deployment_id, "its recorded hash was changed"))
    return CheckpointCheck(str(checkpoint.get("generated_at", "")), len(heads), len(deployments),
                           len(set(now) - set(heads)), problems, current)


def check_dict(result: CheckpointCheck) -> dict[str, Any]:
    """A checkpoint check as JSON-ready data."""
    return {
        "ok": result.ok, "generated_at": result.generated_at, "instances_checked": result.instances_checked,
        "deployments_checked": result.deployments_checked, "instances_since": result.instances_since,
        "problems": [{"kind": p.kind, "id": p.id, "seq": p.seq, "file": p.file, "reason": p.reason}
                     for p in result.problems],
        "current": report_dict(result.current),
    }
