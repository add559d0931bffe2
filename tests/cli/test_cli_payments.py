"""`insureflow payments ledger` and `verify` against a process really killed after the bank accepted a
payout: the orphaned payment is flagged, the resubmitted approval pays nothing more, and both sides agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from insureflow.cli import cli
from tasks.gateway_ledger import CRASH_EXIT_CODE, LedgerGateway
from tests.conftest import ROOT


def _run(folder: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--instance", str(folder), *args], catch_exceptions=False)
    assert result.exit_code == code, result.output + result.stderr
    return result.stdout


def _faults(folder: Path, faults: str) -> None:
    config = folder / "insureflow.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("[gateway]\n", f"[gateway]\n{faults}\n"),
                      encoding="utf-8")


def _approval_task(folder: Path) -> int:
    inbox = json.loads(_run(folder, "--json", "tasks", "--as", "claims.manager"))
    return next(t["id"] for t in inbox["tasks"] if t["name"] == "Approve payout")


def test_a_payout_killed_after_the_bank_accepted_is_flagged_then_paid_once(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    _run(folder, "init", "--demo", "--database-url", db_url)
    _faults(folder, "faults = { crash_after_accept = 1.0 }")
    task = _approval_task(folder)
    approve = ["complete", str(task), "--as", "claims.manager", "--data", '{"approved": true, "reason": "ok"}']

    killed = subprocess.run([str(Path(sys.executable).parent / "insureflow"), "--instance", str(folder), *approve],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                            timeout=120, check=False)
    assert killed.returncode == CRASH_EXIT_CODE, killed.stderr

    ledger = json.loads(_run(folder, "--json", "payments", "ledger", code=6))
    (orphan,) = [p for p in ledger["payments"] if p["problem"]]
    assert orphan["problem"] == "accepted at the gateway, no payment in the database"
    assert (orphan["gateway_amount"], orphan["recorded_status"]) == ("59500.00", None)
    verified = json.loads(_run(folder, "--json", "verify", code=6))
    assert [m["key"] for m in verified["payment_mismatches"]] == [orphan["key"]]
    assert _approval_task(folder) == task  # the approval was never committed: it is still open

    done = json.loads(_run(folder, "--json", *approve))  # the same crash fault: the gateway is asked, not paid
    assert done["status"] == "completed"
    claim_number = orphan["key"].split(":")[1]
    mine = json.loads(_run(folder, "--json", "payments", "ledger", "--claim", claim_number))
    assert [(p["key"], p["gateway_outcome"], p["recorded_status"]) for p in mine["payments"]] == [
        (orphan["key"], "accepted", "accepted")]
    assert json.loads(_run(folder, "--json", "verify"))["ok"]
    paid = [e for e in LedgerGateway(folder / "gateway-ledger.db").entries() if e.outcome == "accepted"]
    assert [e.key for e in paid] == [orphan["key"]]


def test_the_ledger_of_an_unknown_claim_or_policy_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    _run(folder, "init")
    assert "no claim C1" in CliRunner().invoke(cli, ["--instance", str(folder), "payments", "ledger", "--claim",
                                                     "C1"]).stderr
    _run(folder, "payments", "ledger", "--policy", "P1", code=3)
    assert "0 payment key(s), 0 mismatch(es)" in _run(folder, "payments", "ledger")
