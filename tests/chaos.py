"""The payment chaos harness, shared by the CI chaos test and bench/payment_chaos.py.

A served instance (`insureflow serve`, gunicorn workers and the supervised timer worker) whose
simulated gateway injects faults into new payments — crash-after-accept kills the process that made
the payment — and clients that drive claims to payout over the REST API as staff would: they send
again what a dead worker never answered, finance retries declined payouts, and a case in an incident
is left to the worker's retries. Then both sides are counted: double payments (a claim paid under two
keys or twice), lost payments (money that left without the case knowing), stuck cases (neither
completed nor waiting for a task or an incident).
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
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import func, select

from engine.workflow.models import HumanTaskModel, IncidentModel, InstanceModel
from insureflow import instance_folder
from insureflow.bootstrap import build_app
from insureflow.cli import cli
from services.demo.data import id_number
from tasks.common import BUSINESS_TZ
from tasks.gateway_ledger import CRASH_EXIT_CODE, LedgerGateway
from tasks.handlers.sales import add_years
from tasks.records import ClaimRecord, CustomerRecord, PolicyRecord

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ["claim_form", "id_copy", "bank_card", "medical_invoice", "discharge_summary"]
PAYABLE = Decimal("4500.00")
STAFF = ("claims.clerk", "adjuster", "finance")


def cli_json(folder: Path, *args: str) -> Any:
    """Run a command on the instance with --json; it must succeed."""
    result = CliRunner().invoke(cli, ["--instance", str(folder), "--json", *args], catch_exceptions=False)
    if result.exit_code != 0:
        raise AssertionError(f"insureflow {' '.join(args)} exited {result.exit_code}: {result.output}{result.stderr}")
    return json.loads(result.stdout)


@dataclass(frozen=True)
class Insured:
    """A chaos claimant: the insured person of one policy."""

    name: str
    id_number: str
    policy_number: str


def claimant(n: int) -> tuple[date, str]:
    """Birth date and (valid, distinct) resident ID number of seeded claimant n."""
    birth = date(1970, 1, 1) + timedelta(days=n // 900)
    return birth, id_number("110105", birth, 100 + n % 900)


def seed_policies(folder: Path, count: int, *, prefix: str, name: str, sum_insured: int = 200000,
                  term_years: int = 5, premium: int = 1296) -> list[Insured]:
    """One MED01 policy per claim, each its own insured person, in force for 400 days: no claim looks like
    fraud (one claim per person and account, no young policies) and none exhausts its cover."""
    wired = build_app(instance_folder.load(folder))
    cipher, now = wired.runtime.services.cipher, wired.runtime.clock()
    start = datetime.now(BUSINESS_TZ).date() - timedelta(days=400)
    people = []
    try:
        with wired.runtime.uow() as uow:
            for n in range(count):
                birth, number = claimant(n)
                customer = CustomerRecord(name=f"{name} {n}", id_number_enc=cipher.encrypt(number),
                                          id_number_hash=cipher.lookup_hash(number), birth_date=birth, gender="F",
                                          region="beijing", consent_at=now, created_at=now)
                uow.session.add(customer)
                uow.session.flush()
                uow.session.add(PolicyRecord(
                    number=f"{prefix}{n:06d}", product_code="MED01", holder_id=customer.id, insured_id=customer.id,
                    beneficiary_ids=[], sum_insured=Decimal(sum_insured), remaining_sum_insured=Decimal(sum_insured),
                    annual_premium=Decimal(premium), term_years=term_years, start_date=start,
                    end_date=add_years(start, term_years), cooling_off_end=None, status="in_force",
                    premiums_paid=Decimal(premium * 2), issued_at=now))
                people.append(Insured(customer.name, number, f"{prefix}{n:06d}"))
            uow.commit()
    finally:
        wired.db.dispose()
    return people


def prepare(folder: Path, database_url: str, claims: int, gateway: str, engine: str = "") -> list[Insured]:
    """A demo instance with one chaos policy per claim and the given `[gateway]` and `[engine]` lines."""
    cli_json(folder, "init", "--demo", "--database-url", database_url)
    config = folder / "insureflow.toml"
    text = config.read_text(encoding="utf-8").replace("[gateway]\n", f"[gateway]\n{gateway}\n")
    config.write_text(text.replace("[engine]\n", f"[engine]\n{engine}\n"), encoding="utf-8")
    return seed_policies(folder, claims, prefix="PCHAOS", name="Chaos Tester")


class Client:
    """A staff member's REST client that sends a request again when the worker died under it."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token
        self.resent = 0

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request, repeated until a worker answers it; an answer other than 2xx raises."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        sent_again = False
        for _ in range(100):
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as exc:
                if exc.code == 409 and sent_again:  # the lost answer's request had been committed: done
                    return {}
                raise AssertionError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from None
            except OSError:  # the worker died before answering; what it committed before that stays
                self.resent += 1
                sent_again = True
                time.sleep(0.2)
        raise AssertionError(f"{method} {path}: no answer after 100 tries")


def drive(base: str, tokens: dict[str, str], insured: Insured, days_ago: int, patience: float = 300) -> int:
    """One claim from first notice until it is paid; requests sent again."""
    clerk, adjuster, finance = (Client(base, tokens[user]) for user in STAFF)
    started = clerk.call("POST", "/api/processes/claims/instances", {"data": {}})
    case = started["id"]
    register = next(t["id"] for t in started["open_tasks"] if t["task"] == "register_claim")
    incident = (datetime.now(BUSINESS_TZ) - timedelta(days=days_ago)).date().isoformat()
    answer = clerk.call("POST", f"/api/tasks/{register}/complete", {"data": {
        "policy_number": insured.policy_number, "claimant_name": insured.name,
        "claimant_id_number": insured.id_number, "incident_date": incident, "claim_type": "hospitalization",
        "cause_of_loss": "illness", "description": "Three nights in hospital", "claimed_amount": 5000,
        "documents": DOCUMENTS,
        "payee_account": f"62220202{case:011d}", "region": "beijing"}})
    assess = next((t["id"] for t in answer["open_tasks"] if t["task"] == "assess_amount"), None)
    if assess is None:
        raise AssertionError(f"case {case} after registration: {answer['status']}, waiting for "
                             f"{answer['open_tasks']}; history: {clerk.call('GET', f'/api/instances/{case}/history')}")
    answer = adjuster.call("POST", f"/api/tasks/{assess}/complete", {"data": {
        "decision": "pay", "payable_amount": float(PAYABLE), "note": "as invoiced"}}) or clerk.call(
        "GET", f"/api/instances/{case}")
    deadline = time.monotonic() + patience
    while answer["status"] != "completed" and time.monotonic() < deadline:
        failure = [t["id"] for t in answer["open_tasks"] if t["task"] == "resolve_payment_failure"]
        if failure:  # the bank declined: finance sends it again
            answer = finance.call("POST", f"/api/tasks/{failure[0]}/complete", {"data": {
                "payment_action": "retry", "payment_note": "Account checked with the claimant."}}) or clerk.call(
                "GET", f"/api/instances/{case}")
            continue
        time.sleep(0.5)  # the payment in flight, or an incident (a timeout): the timer worker settles it
        answer = clerk.call("GET", f"/api/instances/{case}")
    return clerk.resent + adjuster.resent + finance.resent


@dataclass
class ChaosReport:
    """What a chaos run did and what it found."""

    claims: int
    seconds: float
    web_crashes: int
    worker_crashes: int
    resent: int
    gateway_outcomes: dict[str, int] = field(default_factory=dict)
    double_payments: list[str] = field(default_factory=list)
    lost_payments: list[str] = field(default_factory=list)
    stuck_cases: list[int] = field(default_factory=list)
    unpaid_claims: list[str] = field(default_factory=list)
    ledger_ok: bool = False
    verify_ok: bool = False

    @property
    def crashes(self) -> int:
        """Processes killed right after the bank booked a payment."""
        return self.web_crashes + self.worker_crashes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(folder: Path, people: list[Insured], clients: int = 8, workers: int = 2,
        progress: Callable[[str], None] | None = None) -> ChaosReport:
    """Serve the prepared instance, drive one claim per insured with `clients` threads, stop, count."""
    tokens = {user: cli_json(folder, "tokens", "create", user)["token"] for user in STAFF}
    port, log_file = _free_port(), folder / "serve.log"
    with log_file.open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "insureflow", "--instance", str(folder), "serve", "--port",
                                   str(port), "--workers", str(workers)], cwd=ROOT, stdout=log, stderr=log,
                                  start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    base, started = f"http://127.0.0.1:{port}", time.monotonic()
    resent = 0
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/api/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        with ThreadPoolExecutor(clients) as pool:
            for n, sent_again in enumerate(pool.map(
                    lambda n: drive(base, tokens, people[n], 30 + n % 300), range(len(people))), start=1):
                resent += sent_again
                if progress and n % 100 == 0:
                    progress(f"{n} claims driven")
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    seconds = time.monotonic() - started
    log = log_file.read_text(encoding="utf-8", errors="replace")
    # gunicorn: "Worker (pid:…) exited with code 70"; serve: "the timer worker exited with code 70; …"
    worker_crashes = log.count(f"the timer worker exited with code {CRASH_EXIT_CODE}")
    web_crashes = log.count(f"exited with code {CRASH_EXIT_CODE}") - worker_crashes
    report = ChaosReport(len(people), seconds, web_crashes, worker_crashes, resent)
    _count(folder, report)
    return report


def _count(folder: Path, report: ChaosReport) -> None:
    booked = LedgerGateway(folder / "gateway-ledger.db").entries("claim:")
    report.gateway_outcomes = dict(Counter(e.outcome for e in booked))
    paid_keys: dict[str, list[str]] = {}
    for entry in booked:
        if entry.outcome == "accepted":
            paid_keys.setdefault(entry.key.split(":")[1], []).append(entry.key)
    report.double_payments = sorted(key for keys in paid_keys.values() if len(keys) > 1 for key in keys)
    ledger = cli_json_allowing(folder, "payments", "ledger")
    report.ledger_ok = ledger["ok"]
    report.lost_payments = [line["key"] for line in ledger["payments"] if line["problem"]]
    report.verify_ok = cli_json_allowing(folder, "verify")["ok"]
    wired = build_app(instance_folder.load(folder))
    try:
        with wired.runtime.uow(read_only=True) as uow:
            session = uow.session
            open_cases = session.scalars(select(InstanceModel.id).where(
                InstanceModel.process_key == "claims", InstanceModel.status != "completed"))
            for case in open_cases:
                tasks = session.scalar(select(func.count(HumanTaskModel.id)).where(
                    HumanTaskModel.instance_id == case, HumanTaskModel.status == "open"))
                incidents = session.scalar(select(func.count(IncidentModel.id)).where(
                    IncidentModel.instance_id == case, IncidentModel.status == "open"))
                if not tasks and not incidents:
                    report.stuck_cases.append(case)
            report.unpaid_claims = list(session.scalars(select(ClaimRecord.number).join(
                PolicyRecord, PolicyRecord.id == ClaimRecord.policy_id).where(
                PolicyRecord.number.like("PCHAOS%"), ClaimRecord.status != "paid")))
    finally:
        wired.db.dispose()


def cli_json_allowing(folder: Path, *args: str) -> Any:
    """Run a command with --json whose exit code reports a finding (0 or 6), and read its answer."""
    result = CliRunner().invoke(cli, ["--instance", str(folder), "--json", *args], catch_exceptions=False)
    if result.exit_code not in (0, 6):
        raise AssertionError(f"insureflow {' '.join(args)} exited {result.exit_code}: {result.output}{result.stderr}")
    return json.loads(result.stdout)
