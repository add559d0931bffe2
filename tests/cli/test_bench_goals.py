"""`make bench`'s goals script runs end to end with tiny counts (SQLite only) and prints its table. No figure is
checked: a benchmark's numbers depend on the machine; this only keeps the script from rotting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_the_goals_script_prints_every_goal_of_issue_16() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "goals.py"), "--no-pg", "--claims", "2", "--floor-claims", "2",
         "--memory-claims", "2", "--engine-instances", "2"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout[done.stdout.index("| goal | target | measured | met / not met |"):]
    for goal in ("engine alone / bare SpiffWorkflow", "one client, SQLite: claims/s",
                 "one client / bare SpiffWorkflow on claims.bpmn", "SQL statements per claim", "task submit median",
                 "task submit p95", "8 clients, SQLite, 2 workers", "database per claim with history, SQLite",
                 "RSS per web worker"):
        assert goal in table
    assert "workflow cache" in table and " hits" in table
