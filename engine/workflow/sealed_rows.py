"""Sealed rows: domain rows whose decisive columns are hashed (keyed) into the history event of the step that
wrote them, so that an edit made in SQL afterwards is caught by `verify`.

The domain registers its tables (`register`: money leaving the insurer — payments, refunds). A session listener
notes every registered row a flush inserts or changes; the engine takes the noted rows after each handler call
(`take`) and records `{"<table>:<id>": "<key id>:<hmac>"}` as `sealed_rows` in that handler's event, which the
keyed chain covers. A later status change (the bank's answer) is sealed again in the event that records it;
the latest seal of a row is the one its current values must match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, event, inspect
from sqlalchemy.orm import Session

from .audit_keys import AuditKeys
from .jsonutil import canonical_dumps

PAYLOAD_KEY = "sealed_rows"
_NOTED = "insureflow_sealed_rows"


@dataclass(frozen=True)
class SealedTable:
    """A table whose rows are sealed: the table (its primary key is `id`) and the columns that decide what a
    row means."""

    table: Table
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        """The table's name."""
        return self.table.name


SEALED: dict[str, SealedTable] = {}


def register(table: Table, columns: Iterable[str]) -> None:
    """Seal the rows of `table` over `columns` (its primary key `id` is always part of the seal)."""
    SEALED[table.name] = SealedTable(table, tuple(columns))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):  # 100, 100.0 and 100.00 are one amount, whatever the database returns
        return format(value.normalize(), "f") if value == value else "NaN"
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row_text(table: SealedTable, row_id: int, values: dict[str, Any]) -> bytes:
    """The canonical bytes a row's seal is computed over."""
    return canonical_dumps({"table": table.name, "id": row_id,
                            "values": {c: _plain(values.get(c)) for c in table.columns}}).encode("utf-8")


def seal_row(keys: AuditKeys, table: SealedTable, row_id: int, values: dict[str, Any]) -> str:
    """`<key id>:<hmac>` of a row's decisive columns."""
    return keys.seal(row_text(table, row_id, values))


@event.listens_for(Session, "after_flush")
def _note(session: Session, _context: Any) -> None:
    """Remember the registered rows this flush wrote (cheap: the flush's own objects, no query)."""
    if not SEALED:
        return
    for obj in (*session.new, *session.dirty):
        table = getattr(obj, "__tablename__", None)
        if table in SEALED:
            session.info.setdefault(_NOTED, {})[id(obj)] = obj


def take(session: Session, keys: AuditKeys | None) -> dict[str, str]:
    """The seals of the rows noted since the last call, as `{"<table>:<id>": seal}`; forgets them."""
    noted = session.info.pop(_NOTED, None)
    if not noted or keys is None:
        return {}
    sealed = {}
    for obj in noted.values():
        state = inspect(obj)
        if state.deleted or state.detached or state.transient:
            continue
        table = SEALED[obj.__tablename__]
        values = {c: getattr(obj, c) for c in table.columns}
        sealed[f"{table.name}:{obj.id}"] = seal_row(keys, table, obj.id, values)
    return dict(sorted(sealed.items()))


def forget(session: Session) -> None:
    """Drop the rows noted since the last call (their writes were rolled back)."""
    session.info.pop(_NOTED, None)
