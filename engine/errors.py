"""Every error the engine raises on purpose; callers map them to exit codes and HTTP statuses."""

from __future__ import annotations

from collections.abc import Mapping
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
    """Submitted data failed validation; `details["fields"]` maps field paths to messages, and
    `details["codes"]` the same paths to what is wrong as data (`kind` and its `params`), for translation."""

    code = "invalid_input"

    @classmethod
    def for_fields(cls, problems: Mapping[str, str | FieldProblem], message: str | None = None) -> InvalidInputError:
        """The error for these failing fields (at least one): their messages, and their kinds where known; the
        message names the first field unless one is given."""
        fields = {path: str(problem) for path, problem in problems.items()}
        codes = {path: problem.as_code() if isinstance(problem, FieldProblem) else {"kind": "other", "params": {}}
                 for path, problem in problems.items()}
        first = next(iter(fields.items()))
        count = len(fields)
        return cls(message or f"{count} field{'s' if count != 1 else ''} invalid: {first[0]}: {first[1]}",
                   {"fields": fields, "codes": codes})


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one submitted field, as data: a stable `kind` (a JSON Schema keyword such as
    `required` or `maxLength`, or a domain check's own name such as `above_remaining_cover`), the `params`
    it quotes (JSON-ready), and the English `message` for logs and API clients. Faces translate by kind."""

    kind: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def as_code(self) -> dict[str, Any]:
        """The kind and parameters as JSON-ready data."""
        return {"kind": self.kind, "params": dict(self.params)}


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
