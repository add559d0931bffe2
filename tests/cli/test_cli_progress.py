"""Progress bars of the long commands (`replay --all`, `verify`, `migrate`, `init --demo`): drawn on standard
error when it is a terminal (INSUREFLOW_PROGRESS=always stands in for one here), never under --json, and
standard output the same with or without them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.conftest import Cli
from tests.cli.test_cli_migrate import REGISTER, deploy, version
from tests.conftest import ROOT

BAR = re.compile(r"━")  # rich's bar


def _on_a_terminal(cli: Cli) -> Cli:
    return Cli(cli.folder, {**cli.env, "INSUREFLOW_PROGRESS": "always"})


def _two_cases(cli: Cli) -> None:
    for key in ("CLM-1", "CLM-2"):
        started = cli.json("start", "claim_review", "--as", "clerk", "--business-key", key)
        assert started["open_tasks"]


def test_replay_all_and_verify_draw_a_bar_on_a_terminal_and_print_the_same(deployed_cli: Cli) -> None:
    _two_cases(deployed_cli)
    terminal = _on_a_terminal(deployed_cli)
    for command, stage in ((("replay", "--all"), "replay: replay"), (("verify",), "verify: chains")):
        plain, drawn = deployed_cli(*command), terminal(*command)
        assert plain.exit_code == drawn.exit_code == 0, drawn.stderr
        assert drawn.stdout == plain.stdout  # what scripts read does not change
        assert plain.stderr == ""  # not a terminal: no bar
        assert stage in drawn.stderr and BAR.search(drawn.stderr) and "2/2" in drawn.stderr, drawn.stderr


def test_json_output_is_unchanged_and_free_of_progress(deployed_cli: Cli) -> None:
    _two_cases(deployed_cli)
    terminal = _on_a_terminal(deployed_cli)
    for command in (("replay", "--all"), ("verify",)):
        plain, drawn = deployed_cli(*command, json_out=True), terminal(*command, json_out=True)
        assert drawn.exit_code == 0 and drawn.stderr == ""
        assert json.loads(drawn.stdout) == json.loads(plain.stdout)
        assert "\x1b" not in drawn.stdout and not BAR.search(drawn.stdout)


def test_migrate_draws_a_bar_per_instance(deployed_cli: Cli, tmp_path: Path) -> None:
    cli = deployed_cli
    started = cli.json("start", "claim_review", "--as", "clerk", "--business-key", "CLM-9")
    cli.json("complete", str(started["open_tasks"][0]["id"]), "--as", "clerk", "--data", json.dumps(REGISTER))
    new = deploy(cli, version(tmp_path, "v2", "payable &gt; 1000", "payable &gt; 100"))
    drawn = _on_a_terminal(cli)("migrate", "--from", "1", "--to", str(new), "--dry-run")
    assert drawn.exit_code == 0 and "would move" in drawn.stdout
    assert "migrate: dry run" in drawn.stderr and "1/1" in drawn.stderr


def test_init_demo_draws_its_stages(tmp_path: Path, db_url: str) -> None:
    cli = Cli(tmp_path / "instance", {"PYTHONPATH": str(ROOT), "INSUREFLOW_PROGRESS": "always"})
    result = cli("init", "--demo", "--database-url", db_url)
    assert result.exit_code == 0, result.stderr
    for stage in ("demo users and data", "deploy bpmn/", "demo cases"):
        assert f"init --demo: {stage}" in result.stderr, result.stderr
    assert "demo: " in result.stdout and "\x1b" not in result.stdout


def test_the_engine_reports_progress_without_drawing_it() -> None:
    """engine/ takes a callback and imports neither rich nor click: the command line draws the bar."""
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from) (rich|click)\b", text, re.M), path
