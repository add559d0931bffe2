"""Finding cases: by business key or by the cases a domain look-up names, by process and status — only the
cases the searcher may read (engine/workflow/access.visible_cases), newest first, a page at a time."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, or_, select
from sqlalchemy.orm import Session

from .access import visible_cases
from .actors import Actor
from .models import HumanTaskModel, InstanceModel
from .settings import EngineSettings
from .unit_of_work import UnitOfWork

MAX_PAGE = 100


@dataclass(frozen=True)
class CaseHit:
    """One case found: what it is, where it stands and what waits."""

    id: int
    process_key: str
    business_key: str | None
    status: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    waiting_at: tuple[str, ...]  # the names of its open tasks


# What a search selects of each case (then `hits` adds the open tasks).
HIT_COLUMNS = (InstanceModel.id, InstanceModel.process_key, InstanceModel.business_key, InstanceModel.status,
               InstanceModel.started_at, InstanceModel.started_by, InstanceModel.ended_at)


@dataclass(frozen=True)
class CaseFilter:
    """What to look for. `business_keys` and `instance_ids` name cases (either matches); None means any."""

    business_keys: Collection[str] | None = None
    instance_ids: Collection[int] | None = None
    process_key: str | None = None
    status: str | None = None
    limit: int = 20
    offset: int = 0


def _named(wanted: CaseFilter) -> ColumnElement[bool] | None:
    parts: list[ColumnElement[bool]] = []
    if wanted.business_keys is not None:
        parts.append(InstanceModel.business_key.in_(sorted(wanted.business_keys)))
    if wanted.instance_ids is not None:
        parts.append(InstanceModel.id.in_(sorted(wanted.instance_ids)))
    return or_(*parts) if parts else None


def search_cases(uow: UnitOfWork, settings: EngineSettings, actor: Actor,
                 wanted: CaseFilter) -> tuple[list[CaseHit], int]:
    """The page of cases the actor may read that match, newest first, and how many match in all (in the
    caller's unit of work)."""
    session = uow.session
    conditions = [visible_cases(settings, actor)]
    named = _named(wanted)
    if named is not None:
        conditions.append(named)
    if wanted.process_key:
        conditions.append(InstanceModel.process_key == wanted.process_key)
    if wanted.status:
        conditions.append(InstanceModel.status == wanted.status)
    total = session.scalar(select(func.count()).select_from(InstanceModel).where(*conditions)) or 0
    rows = session.execute(
        select(*HIT_COLUMNS).where(*conditions).order_by(InstanceModel.started_at.desc(), InstanceModel.id.desc())
        .limit(max(1, min(wanted.limit, MAX_PAGE))).offset(max(0, wanted.offset))
    ).all()
    return hits(session, rows), int(total)


def hits(session: Session, rows: Sequence[Row[Any]]) -> list[CaseHit]:
    """The cases of `rows` (selected as HIT_COLUMNS) with the names of their open tasks (one query)."""
    waiting: dict[int, list[str]] = {}
    if rows:
        for instance_id, name in session.execute(
                select(HumanTaskModel.instance_id, HumanTaskModel.task_name)
                .where(HumanTaskModel.instance_id.in_([r.id for r in rows]), HumanTaskModel.status == "open")
                .order_by(HumanTaskModel.id)):
            waiting.setdefault(instance_id, []).append(name)
    return [CaseHit(r.id, r.process_key, r.business_key, r.status, r.started_at, r.started_by, r.ended_at,
                    tuple(waiting.get(r.id, ()))) for r in rows]
