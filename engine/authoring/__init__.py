"""Authoring: what analysts do before and around a deployment — drafts, what changed between versions, dry runs
and their saved scenarios, and moving waiting cases to a newer version (migration). Builds on engine.workflow.
"""

from .dry_run import DryRunResult
from .dry_run_scenarios import SavedScenario
from .migration import MigrationReport, migrate

__all__ = [
    "DryRunResult",
    "MigrationReport",
    "SavedScenario",
    "migrate",
]
