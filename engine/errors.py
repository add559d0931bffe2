"""Every error the engine raises on purpose; callers map them to exit codes and HTTP statuses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class EngineError(Exception):
    """Base of the engine's deliberate errors; `code` is a stable machine-readable name."""

    code = "engine_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFoundError(EngineError):
    """The named deployment, process, instance, task, user or incident does not exist."""

    code = "not_found"


class ForbiddenError(EngineError):
    """The actor may not do this (role, assignee, separation of duties)."""

    code = "forbidden"


class ConflictError(EngineError):
    """The state changed under the caller: task already completed or claimed, stale version."""

    code = "conflict"


class DamagedStateError(EngineError):
    """A case's stored state cannot be read: it was altered or damaged after the engine wrote it."""

    code = "damaged_state"


class InvalidInputError(EngineError):
    """Submitted data failed validation; `details["fields"]` maps field paths to messages."""

    code = "invalid_input"


@dataclass(frozen=True)
class Problem:
    """One problem found in a file of a deployment: where it is and what is wrong."""

    file: str
    message: str
    element: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.element:
            where += f" [{self.element}]"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The problem as JSON-ready data."""
        return {"file": self.file, "element": self.element, "line": self.line, "message": self.message}


@dataclass
class DeploymentInvalidError(InvalidInputError):
    """A file set was refused; `problems` lists every problem found, not only the first."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        count = len(self.problems)
        InvalidInputError.__init__(
            self,
            f"{count} problem{'s' if count != 1 else ''} found: {self.problems[0]}" if count else "invalid",
            {"problems": [p.to_dict() for p in self.problems]},
        )

    def __str__(self) -> str:
        return self.message
