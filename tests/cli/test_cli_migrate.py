"""`insureflow migrate` and `insureflow dry-run`: the analysts' commands, their output and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli.conftest import Cli
from tests.conftest import FIXTURES

REGISTER = {"claimant": "Li Lei", "amount": 500}


def version(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the claim-review fixture with one text replaced."""
    folder = tmp_path / name
    shutil.copytree(FIXTURES / "bpmn", folder)
    diagram = folder / "claim_review.bpmn"
    text = diagram.read_text()
    assert old in text
    diagram.write_text(text.replace(old, new))
    return folder


def deploy(cli: Cli, folder: Path) -> int:
    return cli.json("deploy", str(folder))["id"]


def scenario_file(tmp_path: Path, steps: list[dict]) -> str:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps({"process": "claim_review", "steps": steps}))
    return str(path)


def test_migrate_moves_a_waiting_case_after_a_dry_run_says_it_can(deployed_cli: Cli, tmp_path: Path) -> None:
    cli = deployed_cli
    case = cli.json("start", "claim_review", "--as", "clerk")["id"]
    new = deploy(cli, version(tmp_path, "v2", "payable &gt; 1000", "payable &gt; 100"))

    plan = cli.json("migrate", "--from", "1", "--to", str(new), "--dry-run")
    assert plan["dry_run"] is True
    assert [(i["id"], i["outcome"], i["reasons"]) for i in plan["instances"]] == [(case, "can migrate", [])]
    text = cli("migrate", "--from", "1", "--to", str(new), "--dry-run")
    assert text.exit_code == 0 and f"1 of 1 instance(s) would move from deployment 1 to {new}" in text.stdout

    moved = cli.json("migrate", "--from", "1", "--to", str(new), "--instance-id", str(case))
    assert [(i["id"], i["outcome"]) for i in moved["instances"]] == [(case, "migrated")]
    history = cli.json("history", str(case))
    assert [e["type"] for e in history][-1] == "instance_migrated"
    again = cli.json("migrate", "--from", "1", "--to", str(new))
    assert again["instances"] == []  # nothing is left on the old deployment

    # On the new version, 500 − 100 deductible is above the limit: the case goes to assessment.
    (task,) = cli.json("show", str(case))["open_tasks"]
    cli.json("complete", str(task["id"]), "--as", "clerk", "--data", json.dumps(REGISTER))
    assert [t["task"] for t in cli.json("show", str(case))["open_tasks"]] == ["assess"]


def test_migrate_names_why_a_case_cannot_move(deployed_cli: Cli, tmp_path: Path) -> None:
    cli = deployed_cli
    case = cli.json("start", "claim_review", "--as", "clerk")["id"]
    new = deploy(cli, version(tmp_path, "v2", 'name="Register claim"', 'name="Register the claim"'))
    result = cli("migrate", "--from", "1", "--to", str(new))
    assert result.exit_code == 0
    assert "task 'Register claim' was changed (name) while the case waits at it" in result.stdout
    assert f"0 of 1 instance(s) moved from deployment 1 to {new}" in result.stdout
    assert [e["type"] for e in cli.json("history", str(case))][-1] != "instance_migrated"


def test_migrate_refuses_bad_input_with_the_documented_exit_codes(deployed_cli: Cli, tmp_path: Path) -> None:
    cli = deployed_cli
    same = cli("migrate", "--from", "1", "--to", "1")
    assert same.exit_code == 6 and same.stderr == "error: the source and the target are the same deployment\n"
    unknown = cli("migrate", "--from", "1", "--to", "42")
    assert unknown.exit_code == 6 and "there is no deployment 42" in unknown.stderr
    assert cli("migrate", "--from", "1").exit_code == 2  # usage: --to is missing
    refused = cli("migrate", "--from", "1", "--to", "42", "--as", "clerk")
    assert refused.exit_code == 4 and "clerk may not migrate instances" in refused.stderr


def test_dry_run_shows_the_path_a_draft_takes_and_keeps_nothing(deployed_cli: Cli, tmp_path: Path) -> None:
    cli = deployed_cli
    scenario = scenario_file(tmp_path, [{"task": "register", "data": REGISTER}])
    deployed = cli.json("dry-run", "--scenario", scenario)
    assert deployed["status"] == "waiting"
    assert [w["element"] for w in deployed["waiting"]] == ["cooling_timer", "cancel_received"]
    draft = version(tmp_path, "draft", "payable &gt; 1000", "payable &gt; 100")
    result = cli.json("dry-run", str(draft), "--scenario", scenario)
    assert [w["element"] for w in result["waiting"]] == ["assess"]
    assert [p["element"] for p in result["path"]][-3:] == ["check", "compute", "gw_amount"]
    text = cli("dry-run", str(draft), "--scenario", scenario)
    assert text.exit_code == 0 and "path: start → register → check → compute → gw_amount" in text.stdout
    assert cli.json("instances")["total"] == 0
    assert len(cli.json("processes")) == 1  # the draft was never deployed


def test_dry_run_reports_an_invalid_answer_a_bad_scenario_and_a_bad_draft(deployed_cli: Cli, tmp_path: Path) -> None:
    cli = deployed_cli
    invalid = cli("dry-run", "--scenario", scenario_file(tmp_path, [{"task": "register", "data": {"amount": -5}}]))
    assert invalid.exit_code == 6
    assert "claimant:" in invalid.stdout and "amount:" in invalid.stdout
    (tmp_path / "broken.json").write_text("{not json")
    broken = cli("dry-run", "--scenario", str(tmp_path / "broken.json"))
    assert broken.exit_code == 6 and "is not valid JSON" in broken.stderr
    assert cli("dry-run", "--scenario", str(tmp_path / "missing.json")).exit_code == 3
    draft = version(tmp_path, "bad", 'serviceTaskOperator id="fixture_check"', 'serviceTaskOperator id="nope"')
    bad = cli("dry-run", str(draft), "--scenario", scenario_file(tmp_path, []))
    assert bad.exit_code == 6 and "nope" in bad.stderr
