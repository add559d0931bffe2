"""Cases as they run: instances, human tasks, waits, messages, incidents, effects and the history events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from .columns import Base, UTCDateTime


class InstanceModel(Base):
    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    process_key: Mapped[str] = mapped_column(String(255), index=True)
    business_key: Mapped[str | None] = mapped_column(String(120), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    serializer_version: Mapped[str] = mapped_column(String(20))
    started_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")


# A task without a due date sorts after every dated one: the inbox orders by this non-null copy of due_at,
# so that an index gives the order (no sort of all matching rows).
NO_DUE_DATE = datetime(9999, 12, 31, tzinfo=UTC)
_OPEN = "status = 'open'"


def _open_tasks_index(name: str, *columns: Any) -> Index:
    """An index over open tasks only: finished tasks, the bulk of the table, cost nothing in it."""
    return Index(name, *columns, sqlite_where=text(_OPEN), postgresql_where=text(_OPEN))


class HumanTaskModel(Base):
    __tablename__ = "human_tasks"
    __table_args__ = (
        # Also serves look-ups by instance (its first column).
        UniqueConstraint("instance_id", "spiff_task_id"),
        # The inbox: each scope (a role's pool or team, someone's own tasks) read in page order from an
        # index, in either sort order; the role indexes carry the assignee so counting needs no table rows.
        _open_tasks_index("ix_human_tasks_open_role_due", "candidate_role", "due_sort", text("priority DESC"), "id",
                          "assignee"),
        _open_tasks_index("ix_human_tasks_open_role_priority", "candidate_role", text("priority DESC"), "due_sort",
                          "id", "assignee"),
        _open_tasks_index("ix_human_tasks_open_assignee_due", "assignee", "due_sort", text("priority DESC"), "id"),
        _open_tasks_index("ix_human_tasks_open_assignee_priority", "assignee", text("priority DESC"), "due_sort",
                          "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    process_key: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(120))
    task_key: Mapped[str] = mapped_column(String(255))
    task_name: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(120))
    candidate_role: Mapped[str | None] = mapped_column(String(40))
    assignee: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20))
    form: Mapped[str | None] = mapped_column(String(255))
    separate_from: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(Integer, default=50)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(80))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_sort: Mapped[datetime] = mapped_column(UTCDateTime())


class WaitModel(Base):
    """A timer or message an instance is waiting for, so the worker never deserializes to find them."""

    __tablename__ = "waits"
    __table_args__ = (
        Index("ix_waits_due", "kind", "status", "due_at"),
        Index("ix_waits_name", "kind", "status", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    task_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MessageModel(Base):
    """A message thrown by an instance that no task in it caught, waiting to be delivered."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_pending", "status", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    correlations: Mapped[str] = mapped_column(Text, default="{}")
    source_instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_to: Mapped[int | None] = mapped_column(Integer)


class IncidentModel(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_retry", "status", "next_retry_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    task_key: Mapped[str] = mapped_column(String(255))
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EffectModel(Base):
    """An external call a service task asked for (the outbox): committed with the case before the call is
    made, open until its outcome is settled into the case. `lease_until` keeps a second process (the
    worker) from making the same call while the one that committed it is still at it."""

    __tablename__ = "effects"
    __table_args__ = (Index("ix_effects_open", "status", "lease_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    task_key: Mapped[str] = mapped_column(String(255))
    operator: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(20))  # open / settled / cancelled
    calls: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EventModel(Base):
    """One history event; append-only, hash-chained per instance."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Look-ups by instance use the unique (instance_id, seq) index.
    instance_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str | None] = mapped_column(String(80))
    task_key: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The audit key the event was chained with (engine/workflow/audit_keys.py); empty: the legacy unkeyed sha256 rule.
    key_id: Mapped[str | None] = mapped_column(String(16))
    # The keyed hash of the sealed instance state the event left behind (instances.state as saved with it).
    state_hash: Mapped[str | None] = mapped_column(String(64))
