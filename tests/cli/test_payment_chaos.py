"""Chaos, black-box: the served app (gunicorn, two workers) with every new payment crashing its worker
right after the bank booked it, eight clients driving claims to payout over HTTP and sending again
whatever the dead worker never answered. At the end the gateway holds exactly one payment per claim,
every claim is paid, and `payments ledger` and `verify` find nothing wrong.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from insureflow import instance_folder
from insureflow.bootstrap import build_app
from insureflow.cli import cli
from insureflow.demo_data import id_number
from tasks.common import BUSINESS_TZ
from tasks.gateway_ledger import CRASH_EXIT_CODE, LedgerGateway
from tasks.handlers.sales import add_years
from tasks.records import CustomerRecord, PolicyRecord
from tests.conftest import ROOT

CLAIMS = 200  # every one crashes a worker once: CLAIMS crashes per database
CLIENTS = 8
DOCUMENTS = ["claim_form", "id_copy", "bank_card", "medical_invoice", "discharge_summary"]


def _cli(folder: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--instance", str(folder), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Insured:
    name: str
    id_number: str
    policy_number: str


def _seed_policies(folder: Path, count: int) -> list[Insured]:
    """One medical policy per claim, each its own insured person, in force for 400 days: no claim looks
    like fraud (no repeat claims, no shared accounts, no young policies)."""
    wired = build_app(instance_folder.load(folder))
    cipher, today = wired.runtime.services.cipher, datetime.now(BUSINESS_TZ).date()
    people = []
    try:
        with wired.runtime.uow() as uow:
            for n in range(count):
                number = id_number("110105", date(1980, 1, 1) + timedelta(days=n), 500 + n)
                customer = CustomerRecord(
                    name=f"Chaos Tester {n}", id_number_enc=cipher.encrypt(number),
                    id_number_hash=cipher.lookup_hash(number), birth_date=date(1980, 1, 1) + timedelta(days=n),
                    gender="M" if n % 2 else "F", region="beijing", consent_at=wired.runtime.clock(),
                    created_at=wired.runtime.clock())
                uow.session.add(customer)
                uow.session.flush()
                start = today - timedelta(days=400)
                policy = PolicyRecord(
                    number=f"PCHAOS{n:05d}", product_code="MED01", holder_id=customer.id, insured_id=customer.id,
                    beneficiary_ids=[], sum_insured=Decimal("200000"), remaining_sum_insured=Decimal("200000"),
                    annual_premium=Decimal("1296"), term_years=5, start_date=start, end_date=add_years(start, 5),
                    cooling_off_end=None, status="in_force",
                    premiums_paid=Decimal("2592"), issued_at=datetime.combine(start, clock_time(9), tzinfo=BUSINESS_TZ))
                uow.session.add(policy)
                people.append(Insured(customer.name, number, policy.number))
            uow.commit()
    finally:
        wired.db.dispose()
    return people


class Client:
    """A REST client with a bearer token that sends a request again when the worker died under it."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token
        self.resent = 0

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        for _ in range(50):
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError:
                raise
            except OSError:  # the worker died before answering: nothing it did was committed
                self.resent += 1
                time.sleep(0.2)
        raise AssertionError(f"{path}: no answer after 50 tries")


def _drive(base: str, tokens: dict[str, str], insured: Insured, days_ago: int) -> tuple[int, str, int]:
    """One claim from first notice to payout; (case, status, requests sent again)."""
    clerk, adjuster = Client(base, tokens["claims.clerk"]), Client(base, tokens["adjuster"])
    started = clerk.post("/api/processes/claims/instances", {"data": {}})
    register = next(t["id"] for t in started["open_tasks"] if t["task"] == "register_claim")
    incident = (datetime.now(BUSINESS_TZ) - timedelta(days=days_ago)).date().isoformat()
    registered = clerk.post(f"/api/tasks/{register}/complete", {"data": {
        "policy_number": insured.policy_number, "claimant_name": insured.name,
        "claimant_id_number": insured.id_number, "incident_date": incident, "claim_type": "hospitalization",
        "description": "Three nights in hospital", "claimed_amount": 5000, "documents": DOCUMENTS,
        "payee_account": f"62220202{started['id']:011d}", "region": "beijing"}})
    assess = next(t["id"] for t in registered["open_tasks"] if t["task"] == "assess_amount")
    paid = adjuster.post(f"/api/tasks/{assess}/complete", {"data": {"payable_amount": 4500, "note": "as invoiced"}})
    return started["id"], paid["status"], clerk.resent + adjuster.resent


@pytest.mark.slow
def test_crashes_after_the_bank_accepted_never_pay_a_claim_twice(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    _cli(folder, "init", "--demo", "--database-url", db_url)
    people = _seed_policies(folder, CLAIMS)
    config = folder / "insureflow.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[gateway]\n", "[gateway]\nfaults = { crash_after_accept = 1.0 }\nseed = 1204\n"), encoding="utf-8")
    tokens = {user: json.loads(_cli(folder, "--json", "tokens", "create", user))["token"]
              for user in ("claims.clerk", "adjuster")}
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "insureflow", "--instance", str(folder), "serve", "--port",
                               str(port), "--workers", "2", "--no-worker"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, start_new_session=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(lambda n: _drive(base, tokens, people[n], 30 + n % 300), range(CLAIMS)))
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log = server.stderr.read()
        server.stderr.close()

    crashes = log.count(f"exited with code {CRASH_EXIT_CODE}")
    assert crashes >= CLAIMS, log[-3000:]  # each claim's first payout attempt killed its worker
    assert all(status == "completed" for _case, status, _resent in results)
    assert sum(resent for _case, _status, resent in results) >= CLAIMS
    booked = LedgerGateway(folder / "gateway-ledger.db").entries("claim:")
    paid = [e for e in booked if e.outcome == "accepted"]  # the demo's own declined payout aside
    assert len(paid) == CLAIMS and {e.amount for e in paid} == {Decimal("4500.00")}  # one payment per claim
    assert json.loads(_cli(folder, "--json", "payments", "ledger"))["ok"]
    assert json.loads(_cli(folder, "--json", "verify"))["ok"]
