"""The command line: a diagram from validate and deploy to completion, exit codes, JSON output."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.cli.conftest import Cli
from tests.conftest import FIXTURES


def _start(cli: Cli, key: str = "CLM-7") -> tuple[int, int]:
    started = cli.json("start", "claim_review", "--as", "clerk", "--business-key", key)
    return started["id"], started["open_tasks"][0]["id"]


def test_a_diagram_goes_from_validate_to_completion_with_history_and_verify(run: Cli) -> None:
    assert run("validate", str(FIXTURES / "bpmn")).output.strip() == "valid"
    deployed = run.json("deploy", str(FIXTURES / "bpmn"), "--comment", "first")
    assert deployed["created"] and deployed["processes"] == [["claim_review", 1]]
    again = run.json("deploy", str(FIXTURES / "bpmn"))
    assert not again["created"] and again["id"] == deployed["id"]
    processes = run.json("processes")
    assert [(p["key"], p["version"], p["hash"]) for p in processes] == [("claim_review", 1, deployed["hash"])]

    instance_id, task_id = _start(run)
    inbox = run.json("tasks", "--as", "clerk")
    assert inbox["total"] == 1 and inbox["tasks"][0]["id"] == task_id
    assert run.json("claim", str(task_id), "--as", "clerk")["assignee"] == "clerk"
    done = run.json("complete", str(task_id), "--as", "clerk", "--data", '{"amount": 5000, "claimant": "Li"}')
    assess = done["open_tasks"][0]
    assert assess["task"] == "assess"
    run.json("complete", str(assess["id"]), "--as", "adj", "--data", '{"assessed_amount": 4000}')
    approve = run.json("show", str(instance_id))["open_tasks"][0]
    run.json("complete", str(approve["id"]), "--as", "boss")
    assert run.json("show", str(instance_id))["status"] == "waiting"

    # A timer: nothing is due now; sixteen days on, the cooling-off timer fires.
    assert run.json("worker", "--once")["timers_fired"] == 0
    later = (datetime.now(UTC) + timedelta(days=16)).isoformat()
    assert run.json("worker", "--once", "--now", later)["timers_fired"] == 1
    assert run.json("show", str(instance_id))["status"] == "completed"

    # A message, on a second instance that reaches the same wait.
    second, task2 = _start(run, "CLM-8")
    run.json("complete", str(task2), "--as", "clerk", "--data", '{"amount": 500, "claimant": "Han"}')
    delivered = run.json("message", str(second), "cancel", "--data", '{"reason": "customer request"}')
    assert delivered["status"] == "completed"
    assert run.json("instances", "--status", "completed")["total"] == 2
    assert run.json("instances", "--business-key", "CLM-8")["instances"][0]["id"] == second

    events = run.json("history", str(instance_id))
    assert [e["type"] for e in events] == [
        "instance_started", "task_claimed", "task_completed", "handler_executed", "task_completed",
        "task_completed", "timer_fired", "instance_completed"]
    assert events[2]["actor"] == "clerk" and events[2]["payload"]["data"] == {"amount": 5000, "claimant": "Li"}
    text = run("history", str(instance_id)).output
    assert "timer_fired" in text and "handler_executed" in text
    verified = run.json("verify")
    assert verified == {"ok": True, "instances": 2, "events": verified["events"], "breaks": [], "deployments": 1,
                        "files": verified["files"], "deployment_problems": [], "payment_mismatches": [],
                        "damaged_states": [], "legacy_events": 0, "sealed_rows": 0, "unsealed_rows": 0,
                        "row_problems": [], "signed_checkpoint": verified["signed_checkpoint"]}
    # the worker signed a checkpoint, which verify used
    assert verified["signed_checkpoint"]["problem"] is None and verified["signed_checkpoint"]["problems"] == []
    assert verified["events"] > 8 and verified["files"] >= 2
    assert run("verify").output.startswith("ok:")
    replayed = run.json("replay", "--all")
    assert replayed["ok"] and [r["steps"] for r in replayed["results"]] == [5, 3]
    assert run("replay", str(instance_id)).output.splitlines()[0] == f"instance {instance_id}: consistent, 5 steps"
    assert run("replay").exit_code == 2
    assert run("replay", "4242").exit_code == 3


def test_exit_codes_follow_the_contract(deployed_cli: Cli) -> None:
    run = deployed_cli
    instance_id, task_id = _start(run)
    wrong_role = run("complete", str(task_id), "--as", "adj", "--data", "{}")
    assert wrong_role.exit_code == 4 and "needs role claims_clerk" in wrong_role.stderr
    assert "Traceback" not in wrong_role.output + wrong_role.stderr
    invalid = run("complete", str(task_id), "--as", "clerk", "--data", '{"amount": "lots"}')
    assert invalid.exit_code == 6 and "claimant" in invalid.stderr
    assert run("complete", str(task_id), "--as", "clerk", "--data", "{not json").exit_code == 6
    assert run("complete", str(task_id), "--as", "clerk", "--data", "[1]").exit_code == 6
    assert run("complete", "99999", "--as", "clerk").exit_code == 3
    assert run("show", "99999").exit_code == 3
    assert run("start", "nope", "--as", "clerk").exit_code == 3
    assert run("complete", str(task_id), "--as", "ghost").exit_code == 3
    assert run("message", str(instance_id), "cancel").exit_code == 5
    assert run("deploy", "/no/such/path").exit_code == 3
    assert run("frobnicate").exit_code == 2
    assert run("complete", "x", "--as", "clerk").exit_code == 2
    assert run("worker", "--once", "--now", "yesterday").exit_code == 6
    ok = run("complete", str(task_id), "--as", "clerk", "--data", '{"amount": 5000, "claimant": "Li"}')
    assert ok.exit_code == 0
    twice = run("complete", str(task_id), "--as", "clerk", "--data", '{"amount": 5000, "claimant": "Li"}')
    assert twice.exit_code == 5 and "already completed" in twice.stderr
    # Four eyes: mgr assesses, so mgr may not approve.
    assess = run.json("show", str(instance_id))["open_tasks"][0]["id"]
    assert run("complete", str(assess), "--as", "mgr", "--data", '{"assessed_amount": 1}').exit_code == 0
    approve = run.json("show", str(instance_id))["open_tasks"][0]["id"]
    refused = run("complete", str(approve), "--as", "mgr")
    assert refused.exit_code == 4 and "four-eyes" in refused.stderr


def test_errors_are_json_with_json(deployed_cli: Cli) -> None:
    result = deployed_cli("complete", "424242", "--as", "clerk", json_out=True)
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"]["code"] == "not_found"


def test_validate_reports_every_problem_and_deploy_stores_nothing(run: Cli, tmp_path) -> None:
    bad = tmp_path / "bad"
    (bad / "forms").mkdir(parents=True)
    source = (FIXTURES / "bpmn" / "claim_review.bpmn").read_text()
    source = source.replace('id="fixture_check"', 'id="no_such_operator"').replace(
        'name="Adjuster"', 'name="Loss wizard"').replace(
        "payable = amount - check_result[\"deductible\"]", "import os")
    (bad / "claim_review.bpmn").write_text(source)
    for form in ("register.json", "assess.json"):
        (bad / "forms" / form).write_text((FIXTURES / "bpmn" / "forms" / form).read_text())
    result = run("validate", str(bad))
    assert result.exit_code == 6
    lines = result.output.strip().splitlines()
    assert any("[check]" in line and "no_such_operator" in line for line in lines)
    assert any("[Lane_adjuster]" in line and "loss_wizard" in line for line in lines)
    assert any("[compute]" in line and "import" in line.lower() for line in lines)
    deploy = run("deploy", str(bad))
    assert deploy.exit_code == 6 and "3 problems" in deploy.stderr
    assert run.json("processes") == []


def test_users_and_tokens(run: Cli) -> None:
    assert run("users", "add", "x", "--role", "wizard").exit_code == 6
    assert run("users", "add", "clerk", "--role", "claims_clerk").exit_code == 5
    users = {u["username"]: u["roles"] for u in run.json("users", "list")}
    assert users["mgr"] == ["adjuster", "claims_manager"]
    token = run.json("tokens", "create", "clerk")["token"]
    assert token.startswith("ifw_") and len(token) > 40
    import tomllib

    from sqlalchemy import create_engine, text

    url = tomllib.loads((run.folder / "insureflow.toml").read_text())["database_url"]
    db = create_engine(url)
    with db.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    db.dispose()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64
    assert run("tokens", "create", "nobody").exit_code == 3


def test_init_again_upgrades_in_place_and_keeps_everything(deployed_cli: Cli) -> None:
    run = deployed_cli
    key_file = run.folder / "keys" / "data.key"
    key = key_file.read_bytes()
    instance_id, _ = _start(run)
    again = run.json("init")
    from insureflow import schema

    newest = max(p.name[:4] for p in (schema.MIGRATIONS / "versions").glob("0*.py"))
    assert again["schema"] == schema.head() == newest
    assert key_file.read_bytes() == key
    assert run.json("show", str(instance_id))["status"] == "running"
    assert oct(key_file.stat().st_mode)[-3:] == "600"


def test_a_missing_instance_folder_is_one_clear_line(tmp_path) -> None:
    from click.testing import CliRunner

    from insureflow.cli import cli

    result = CliRunner().invoke(cli, ["--instance", str(tmp_path / "nowhere"), "processes"])
    assert result.exit_code == 2
    assert "not an InsureFlow instance folder" in result.stderr and "Traceback" not in result.output
