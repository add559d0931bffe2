"""The engine's dependencies in one place, handed to every service function."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from engine.workflow.audit_keys import AuditKeys
from engine.workflow.checkpoints import CheckpointStore
from engine.workflow.clock import Clock, system_clock
from engine.workflow.database import one_statement
from engine.workflow.history import PayloadProtector, no_protection
from engine.workflow.models import DeploymentFileModel
from engine.workflow.parsing import ParsedDeployment, parse_deployment
from engine.workflow.registry import HandlerRegistry
from engine.workflow.sandbox import Limits
from engine.workflow.serialization import WorkflowStateSerializer
from engine.workflow.settings import EngineSettings
from engine.workflow.unit_of_work import UnitOfWork


def _same(data: bytes) -> bytes:
    return data


class SpecCache:
    """Parsed specs per deployment: parsed once, shared by every instance pinned to it."""

    def __init__(self, capacity: int = 64):
        self._capacity = capacity
        self._items: OrderedDict[int, ParsedDeployment] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, deployment_id: int, parsed: ParsedDeployment) -> None:
        """Remember the parsed form of a deployment."""
        with self._lock:
            parsed.trees.clear()
            self._items[deployment_id] = parsed
            self._items.move_to_end(deployment_id)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def get(self, session: Session, deployment_id: int) -> ParsedDeployment:
        """The parsed deployment, parsing the stored XML on a miss."""
        with self._lock:
            parsed = self._items.get(deployment_id)
            if parsed is not None:
                self._items.move_to_end(deployment_id)
                return parsed
        files = {
            f.name: f.content for f in session.scalars(
                select(DeploymentFileModel).where(DeploymentFileModel.deployment_id == deployment_id))
        }
        parsed, problems = parse_deployment(files, check_schema=False)
        if problems:
            raise RuntimeError(f"deployment {deployment_id} no longer parses: {problems[0]}")
        self.put(deployment_id, parsed)
        return parsed


class WorkflowCache:
    """Live workflows of recently changed instances, so the next step on a case can skip
    deserializing it. Entries are keyed by the instance version they were saved as: a case changed
    elsewhere (another process) has a newer version and misses. `take` removes the entry — one owner
    at a time — and only a committed step puts it back, so a failed step never leaves a half-changed
    workflow behind."""

    def __init__(self, capacity: int = 256):
        self._capacity = capacity
        self._items: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0  # takes answered from the cache, and those that had to deserialize

    def take(self, instance_id: int, version: int) -> Any:
        """The workflow saved as `version` of the instance, or None."""
        with self._lock:
            entry = self._items.pop(instance_id, None)
            hit = entry is not None and entry[0] == version
            if hit:
                self.hits += 1
            else:
                self.misses += 1
        return entry[1] if hit else None

    def stats(self) -> dict[str, int]:
        """Entries held, the bound, hits and misses since the process started (the benchmark prints them)."""
        return {"size": len(self._items), "capacity": self._capacity, "hits": self.hits, "misses": self.misses}

    def put(self, instance_id: int, version: int, workflow: Any) -> None:
        """Remember the workflow as it was committed at `version`."""
        if self._capacity <= 0:
            return
        workflow.script_engine = None  # drop the finished step's session and context
        with self._lock:
            self._items[instance_id] = (version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)


@dataclass
class Runtime:
    """Configuration, the database, the handler registry, the clock and the caches."""

    session_factory: sessionmaker[Session]
    registry: HandlerRegistry
    settings: EngineSettings = field(default_factory=EngineSettings)
    clock: Clock = system_clock
    protect: PayloadProtector = no_protection
    # The inverse of `protect`, for replay: what was protected in history, made readable again.
    reveal: PayloadProtector = no_protection
    # Encryption of the stored workflow state (it holds the process data, personal data included).
    seal: Callable[[bytes], bytes] = _same
    unseal: Callable[[bytes], bytes] = _same
    # The audit key ring (engine/workflow/audit_keys.py), loaded once: chains new events with HMAC-SHA256 and seals the
    # stored states and money rows. None: the legacy unkeyed chain (tools and tests that need no keys).
    audit_keys: AuditKeys | None = None
    # Where signed checkpoints are written (the worker) and read (`verify`): engine/workflow/checkpoints.py.
    checkpoints: CheckpointStore | None = None
    specs: SpecCache = field(default_factory=SpecCache)
    serializer: WorkflowStateSerializer = field(default_factory=WorkflowStateSerializer)
    workflows: WorkflowCache = field(default_factory=WorkflowCache)
    # Handed to every handler as `ctx.services` (see engine.workflow.registry.HandlerContext).
    services: Any = None
    # engine.workflow.forms.FieldChecker functions run on every task submission inside its transaction.
    field_checkers: tuple[Callable[..., Any], ...] = ()
    # Process definitions never change once deployed: their version numbers are remembered here,
    definition_versions: dict[int, int] = field(default_factory=dict)
    # and each deployment's user tasks (process, task, name, role) for the inbox's filter menus.
    deployment_user_tasks: dict[int, list[tuple[str, str, str, str | None]]] = field(default_factory=dict)

    @property
    def limits(self) -> Limits:
        """The script sandbox's budget."""
        return Limits(max_steps=self.settings.script_max_steps, max_seconds=self.settings.script_max_seconds)

    def frozen(self) -> Runtime:
        """This runtime with the clock stopped at this moment: one operation sees one time, which
        the history records and a replay can use again."""
        moment = self.clock()
        return dataclasses.replace(self, clock=lambda: moment)

    def uow(self, read_only: bool = False) -> UnitOfWork:
        """A new unit of work; a read-only one never waits for (or blocks) writers."""
        return UnitOfWork(self.session_factory, read_only)

    def one_statement(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection for one read on its own, outside any transaction (engine.workflow.database.one_statement)."""
        return one_statement(self.session_factory.kw["bind"])
