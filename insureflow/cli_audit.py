"""`insureflow verify` (chains, states, money rows, deployments, the latest signed checkpoint), `insureflow
audit-key` (show, rotate) and `insureflow checkpoint` (write a signed checkpoint now)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.audit import integrity, write_signed_checkpoint
from engine.errors import InvalidInputError
from engine.workflow import OPERATOR, audit_keys
from services import payment_ledger

from .cli_context import Context, handled, pass_ctx
from .instance_folder import InstanceFolderError
from .output import EXIT_INVALID
from .progress_bar import progress_bar


def register(cli: click.Group) -> None:
    """Add the audit key and checkpoint commands."""
    cli.add_command(verify)
    cli.add_command(audit_key)
    cli.add_command(checkpoint)


@click.group("audit-key")
def audit_key() -> None:
    """The audit key ring that chains the history (keys/audit.key, old keys in keys/audit-keyring/)."""


@audit_key.command("show")
@pass_ctx
@handled
def show(ctx: Context) -> None:
    """The current audit key's id and every key id in the ring (never the keys)."""
    keys_folder = ctx.folder / "keys"
    try:
        ring = audit_keys.load(keys_folder, create=False)
    except audit_keys.AuditKeyError as exc:
        raise InstanceFolderError(str(exc)) from exc
    ctx.out.result({"current": ring.current, "ring": sorted(ring.keys)},
                   [f"current audit key: {ring.current}", f"key ring: {', '.join(sorted(ring.keys))}"])


@audit_key.command("rotate")
@pass_ctx
@handled
def rotate(ctx: Context) -> None:
    """Make a new audit key for new events; the old one stays in the ring so older events still verify.
    Restart the web app and the worker afterwards (each loads the key once), and back up keys/ again."""
    try:
        old, new = audit_keys.rotate(ctx.folder / "keys")
    except audit_keys.AuditKeyError as exc:
        raise InstanceFolderError(str(exc)) from exc
    ctx.out.result({"previous": old, "current": new},
                   [f"audit key rotated: new events are chained with {new}; {old} stays in the key ring",
                    "restart the web app and the worker, then back up the keys folder"])


@click.command()
@pass_ctx
@handled
def checkpoint(ctx: Context) -> None:
    """Write a signed checkpoint of every chain head now (the worker also does, every few minutes)."""
    name = write_signed_checkpoint(ctx.app.runtime, "operator")
    ctx.out.result({"checkpoint": name}, f"signed checkpoint {name} written")


def _signed_checkpoint_lines(report: integrity.IntegrityReport) -> tuple[list[str], str]:
    """What the latest signed checkpoint (used automatically) says: the problems, and a closing note."""
    if report.checkpoint_file is None:
        return [], "no signed checkpoint yet (the worker writes one every few minutes)"
    if report.checkpoint_problem is not None:
        return [f"SIGNED CHECKPOINT {report.checkpoint_file}: {report.checkpoint_problem}"], ""
    checked = report.checkpoint
    if checked is None:
        return [], ""
    return [f"CHECKPOINT {p}" for p in checked.problems], f"signed checkpoint {report.checkpoint_file}: " + (
        f"ok, {checked.instances_checked} chain heads still extended" if not checked.problems else "FAILED")



@click.command()
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also check that every chain still extends the heads recorded in this checkpoint file.")
@click.option("--save-checkpoint", "save_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write a checkpoint of this moment to FILE (keep it outside the system).")
@pass_ctx
@handled
def verify(ctx: Context, checkpoint_file: str | None, save_file: str | None) -> None:
    """Recompute every history chain and every deployment's files; name the first broken event and each
    altered file; match the gateway's payments with the database's; optionally check a stored checkpoint
    or save a new one."""
    rt = ctx.app.runtime
    with progress_bar(ctx.out.as_json, "verify") as progress:
        report = integrity.verify_all(rt, OPERATOR, progress)
    result = integrity.report_dict(report)
    lines = ([f"BROKEN {b}" for b in report.chains.breaks] + [f"ALTERED {p}" for p in report.deployments.problems]
             + [f"DAMAGED case {i}: {why}" for i, why in report.damaged_states]
             + [f"EDITED {p}" for p in report.rows.problems or []])
    signed_problems, signed_note = _signed_checkpoint_lines(report)
    lines += signed_problems
    ok = report.ok
    if checkpoint_file:
        try:
            stored = json.loads(Path(checkpoint_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"cannot read the checkpoint {checkpoint_file}: {exc}") from None
        checked = integrity.check_checkpoint(rt, OPERATOR, stored)
        result["checkpoint"] = integrity.check_dict(checked)
        lines += [f"CHECKPOINT {p}" for p in checked.problems]
        lines.append(f"checkpoint of {checked.generated_at}: " + (
            f"ok, {checked.instances_checked} chain heads still extended" if checked.ok else "FAILED"))
        ok = ok and checked.ok
    mismatches = [line for line in payment_ledger.ledger_lines(ctx.app.runtime) if line.problem]
    result["payment_mismatches"] = mismatches
    lines += [f"PAYMENT {line.key}: {line.problem}" for line in mismatches]
    ok = ok and not mismatches
    if save_file:
        document = integrity.make_checkpoint(rt, OPERATOR)
        Path(save_file).write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
        result["saved_checkpoint"] = save_file
        lines.append(f"checkpoint saved to {save_file} (digest {document['digest'][:12]})")
    lines.append(f"{'ok' if report.ok and not mismatches else 'FAILED'}: {report.chains.events} events in "
                 f"{report.chains.instances} instance chains ({report.chains.legacy_events} from before the audit "
                 f"key), {report.deployments.files} files in {report.deployments.deployments} deployments, "
                 f"{report.rows.checked} money rows and the gateway's payments checked")
    if signed_note:
        lines.append(signed_note)
    ctx.out.result(result, lines)
    if not ok:
        sys.exit(EXIT_INVALID)
