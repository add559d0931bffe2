"""The domain's one door into the engine (with engine.errors): the handler registry and the little else the
domain's handlers, tables and adapters need. The import-linter contract in pyproject.toml keeps tasks/ to these
two modules; the implementation is engine/workflow/registry.py."""

from engine.errors import FieldProblem  # what a domain's field checker reports
from engine.workflow.database import private_file  # a domain file only its owner reads (0600)
from engine.workflow.models import UTCDateTime  # the engine's timestamp column: naive UTC stored, aware UTC read
from engine.workflow.registry import (
    BpmnError,
    Effect,
    EffectKind,
    Handler,
    HandlerContext,
    HandlerRegistry,
    reads_only,
)
from engine.workflow.sealed_rows import register as seal_table  # the domain seals its money rows

__all__ = [
    "BpmnError",
    "Effect",
    "EffectKind",
    "FieldProblem",
    "Handler",
    "HandlerContext",
    "HandlerRegistry",
    "UTCDateTime",
    "private_file",
    "reads_only",
    "seal_table",
]
