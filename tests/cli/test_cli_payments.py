"""`insureflow payments ledger` and `verify` against a process really killed after the bank accepted a
payout: the orphaned payment is flagged, the resubmitted approval pays nothing more, and both sides agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from insureflow.cli import cli
from insureflow.output import EXIT_CONFLICT
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


def test_a_payout_killed_after_the_bank_accepted_is_settled_once_by_the_worker(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    _run(folder, "init", "--demo", "--database-url", db_url)
    _faults(folder, "faults = { crash_after_accept = 1.0 }")
    task = _approval_task(folder)
    approve = ["complete", str(task), "--as", "claims.manager", "--data", '{"approved": true, "reason": "ok"}']

    killed = subprocess.run([str(Path(sys.executable).parent / "insureflow"), "--instance", str(folder), *approve],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                            timeout=120, check=False)
    assert killed.returncode == CRASH_EXIT_CODE, killed.stderr

    # The approval and the payment's intent were committed before the bank was called: the payment is in
    # flight (pending beside the gateway's booking), not lost, and the approval cannot be sent again.
    ledger = json.loads(_run(folder, "--json", "payments", "ledger"), parse_float=Decimal)  # amounts exact
    (in_flight,) = [p for p in ledger["payments"] if p["recorded_status"] == "pending"]
    assert (in_flight["gateway_outcome"], in_flight["gateway_amount"], in_flight["problem"]) == (
        "accepted", Decimal("59500.00"), None)
    assert json.loads(_run(folder, "--json", "verify"))["ok"]
    _run(folder, *approve, code=EXIT_CONFLICT)

    later = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()  # past the dead process's lease
    worked = json.loads(_run(folder, "--json", "worker", "--once", "--now", later))  # the same crash fault
    assert worked["effects_settled"] == 1  # the gateway was asked, not paid again

    claim_number = in_flight["key"].split(":")[1]
    mine = json.loads(_run(folder, "--json", "payments", "ledger", "--claim", claim_number))
    assert [(p["key"], p["gateway_outcome"], p["recorded_status"]) for p in mine["payments"]] == [
        (in_flight["key"], "accepted", "accepted")]
    assert json.loads(_run(folder, "--json", "verify"))["ok"]
    paid = [e for e in LedgerGateway(folder / "gateway-ledger.db").entries() if e.outcome == "accepted"]
    assert [e.key for e in paid] == [in_flight["key"]]


def test_the_ledger_of_an_unknown_claim_or_policy_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    _run(folder, "init")
    assert "no claim C1" in CliRunner().invoke(cli, ["--instance", str(folder), "payments", "ledger", "--claim",
                                                     "C1"]).stderr
    _run(folder, "payments", "ledger", "--policy", "P1", code=3)
    assert "0 payment key(s), 0 mismatch(es)" in _run(folder, "payments", "ledger")
