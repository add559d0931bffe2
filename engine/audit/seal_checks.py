"""The keyed seals `verify` checks beside the chains: each case's stored state against the keyed hash its last
event recorded, and each sealed row (money leaving the insurer) against the seal the event of the step that
last wrote it recorded. Both need the audit key ring; an insider with write access to the database alone can
neither recompute a seal nor move one from another case or row (a seal covers the table, the row id and the
values)."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow.audit_keys import AuditKeys
from engine.workflow.models import EventModel, InstanceModel
from engine.workflow.sealed_rows import PAYLOAD_KEY, SEALED, row_text


def check_states(
    session: Session, keys: AuditKeys | None, recorded: dict[int, tuple[str, str]], unseal: Any,
) -> list[tuple[int, str]]:
    """Every case whose stored state is not the one its last event recorded, or that no longer opens (the
    seal is authenticated: one changed byte fails). A state whose keyed hash matches is what was written,
    so it is not decrypted as well."""
    damaged = []
    for instance_id, state in session.execute(select(InstanceModel.id, InstanceModel.state)
                                              .order_by(InstanceModel.id)):
        sealed = recorded.get(instance_id)
        if sealed is not None and keys is not None and sealed[0] in keys.keys:
            if hmac.compare_digest(keys.mac(state, sealed[0]), sealed[1]):
                continue
            damaged.append((instance_id, "the stored state is not the one its last history event recorded "
                                         "(keyed hash mismatch): it was altered or damaged (or replaced) after it "
                                         "was written"))
            continue
        try:
            unseal(state)
        except Exception as exc:
            damaged.append((instance_id, f"the stored state cannot be read ({type(exc).__name__}): it was altered "
                                         "or damaged after it was written"))
    return damaged


@dataclass(frozen=True)
class RowProblem:
    """A sealed row that is not what the history recorded."""

    table: str
    row_id: int
    reason: str

    def __str__(self) -> str:
        return f"{self.table} row {self.row_id}: {self.reason}"


@dataclass
class RowsReport:
    """Every sealed row checked against its latest seal in the history."""

    checked: int = 0
    unsealed_legacy: int = 0  # rows written before the audit key: nothing recorded to check them against
    problems: list[RowProblem] | None = None

    @property
    def ok(self) -> bool:
        """Whether every sealed row is as recorded."""
        return not self.problems


def _recorded_seals(session: Session) -> dict[str, tuple[str, int, int]]:
    """`"<table>:<id>"` → (seal, instance, event seq) of the latest event that sealed the row."""
    seals: dict[str, tuple[str, int, int]] = {}
    query = (select(EventModel.instance_id, EventModel.seq, EventModel.payload)
             .where(EventModel.key_id.is_not(None), EventModel.payload.contains(f'"{PAYLOAD_KEY}"'))
             .order_by(EventModel.id))
    for instance_id, seq, payload in session.execute(query):
        try:
            found = json.loads(payload).get(PAYLOAD_KEY)
        except (ValueError, AttributeError):
            continue  # the chain check names an altered payload
        if isinstance(found, dict):
            for key, seal in found.items():
                if isinstance(seal, str):
                    seals[key] = (seal, instance_id, seq)
    return seals


def check_rows(session: Session, keys: AuditKeys | None) -> RowsReport:
    """Every row of every sealed table against the latest seal recorded for it. A row with no seal is an
    integrity failure when it is newer than the first sealed row of its table (written outside any step, e.g.
    in SQL); older ones predate the audit key and are only counted."""
    report = RowsReport(problems=[])
    assert report.problems is not None
    if keys is None or not SEALED:
        return report
    seals = _recorded_seals(session)
    for sealed in SEALED.values():
        table = sealed.table
        prefix = f"{sealed.name}:"
        ids = [int(k[len(prefix):]) for k in seals if k.startswith(prefix) and k[len(prefix):].isdigit()]
        first_sealed = min(ids) if ids else None
        present: set[int] = set()
        columns = [table.c[c] for c in sealed.columns]
        for row in session.execute(select(table.c.id, *columns).order_by(table.c.id)):
            row_id = row[0]
            present.add(row_id)
            report.checked += 1
            recorded = seals.get(f"{prefix}{row_id}")
            if recorded is None:
                if first_sealed is not None and row_id > first_sealed:
                    report.problems.append(RowProblem(sealed.name, row_id, "not recorded by any step of any case: "
                                                      "the row was written outside the process (e.g. in SQL)"))
                else:
                    report.unsealed_legacy += 1
                continue
            seal, instance_id, seq = recorded
            values = dict(zip(sealed.columns, row[1:], strict=True))
            matches = keys.check(row_text(sealed, row_id, values), seal)
            if matches is None:
                report.problems.append(RowProblem(sealed.name, row_id, f"sealed with audit key "
                                                  f"{seal.partition(':')[0]}, which is not in the key ring"))
            elif not matches:
                report.problems.append(RowProblem(sealed.name, row_id, "edited after it was recorded: its amount, "
                                                  "account, status or references are not what case "
                                                  f"{instance_id} event #{seq} sealed"))
        for row_id in sorted(ids):
            if row_id not in present:
                instance_id, seq = seals[f"{prefix}{row_id}"][1:]
                report.problems.append(RowProblem(sealed.name, row_id, f"deleted: case {instance_id} event #{seq} "
                                                  "recorded it"))
    return report
