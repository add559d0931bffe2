"""Races between real processes: one completion wins, the other is told; timers fire exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from tests.cli.conftest import Cli

ROUNDS = 4


def _events(cli: Cli, instance_id: int) -> list[dict]:
    return cli.json("history", str(instance_id))


def test_two_processes_completing_the_same_task_one_wins_one_conflicts(deployed_cli: Cli) -> None:
    run = deployed_cli
    for round_no in range(ROUNDS):
        started = run.json("start", "claim_review", "--as", "clerk", "--business-key", f"RACE-{round_no}")
        task = str(started["open_tasks"][0]["id"])
        procs = [run.spawn("complete", task, "--as", "clerk", "--data",
                           json.dumps({"amount": 100 + i, "claimant": f"racer {i}"})) for i in range(2)]
        outcomes = [(p.wait(timeout=60), p.stderr.read(), p.stdout.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        codes = sorted(code for code, _, _ in outcomes)
        assert codes == [0, 5], outcomes
        loser = next(err for code, err, _ in outcomes if code == 5)
        assert "Traceback" not in loser and loser.startswith("error: ")
        completed = [e for e in _events(run, started["id"]) if e["type"] == "task_completed"]
        assert len(completed) == 1  # exactly one submission recorded, the winner's, whole
        winner = next(out for code, _, out in outcomes if code == 0)
        assert "task" in winner
        shown = run.json("show", str(started["id"]))
        assert shown["data"]["claimant"] == completed[0]["payload"]["data"]["claimant"]
    assert run.json("verify")["ok"]


def test_two_workers_fire_each_due_timer_exactly_once(deployed_cli: Cli) -> None:
    run = deployed_cli
    ids = []
    for i in range(6):
        started = run.json("start", "claim_review", "--as", "clerk", "--business-key", f"T-{i}")
        run.json("complete", str(started["open_tasks"][0]["id"]), "--as", "clerk", "--data",
                 json.dumps({"amount": 500, "claimant": "x"}))  # small: straight to the cooling-off wait
        ids.append(started["id"])
    later = (datetime.now(UTC) + timedelta(days=16)).isoformat()
    procs = [run.spawn("--json", "worker", "--once", "--now", later) for _ in range(2)]
    reports = []
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
        reports.append(json.loads(p.stdout.read()))
        p.stdout.close()
        p.stderr.close()
    assert sum(r["timers_fired"] for r in reports) == 6, reports
    for instance_id in ids:
        types = [e["type"] for e in _events(run, instance_id)]
        assert types.count("timer_fired") == 1
        assert types[-1] == "instance_completed"
    import tomllib

    url = tomllib.loads((run.folder / "insureflow.toml").read_text())["database_url"]
    db = create_engine(url)
    with db.connect() as conn:
        pending = conn.execute(text("SELECT count(*) FROM waits WHERE status = 'pending'")).scalar()
    db.dispose()
    assert pending == 0
