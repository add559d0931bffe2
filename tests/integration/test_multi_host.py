"""InsureFlow on several machines (issue 16): two app servers, each its own process with its own workflow cache,
and two timer workers, all on one PostgreSQL database, while eight clients complete the tasks of the same cases
through both servers at once — no update is lost, no answer is stale, every timer fires once.

The timers are made due by the workers' clock (`worker --once --now`, sixteen days ahead), never by waiting."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.chaos import cli_json, cli_json_allowing
from tests.conftest import FIXTURES, fresh_database
from tests.fixtures.handlers import EFFECTS_DDL
from tests.served import start_server, start_worker_once, stop_server, worker_report

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("INSUREFLOW_TEST_PG_URL"), reason="several hosts share one PostgreSQL "
                       "database: set INSUREFLOW_TEST_PG_URL (make test does)"),
]

REVIEWS, DEADLINES = 12, 6  # cases of claim_review and of collect_with_deadline
CLIENTS = 8
USERS = {"clerk1": "claims_clerk", "clerk2": "claims_clerk", "adj1": "adjuster", "adj2": "adjuster",
         "mgr1": "claims_manager", "mgr2": "claims_manager", "auditor": "auditor"}
# claim_review (tests/fixtures/bpmn): register (clerk) → check, compute: a payable above 1,000 → assess (adjuster)
# → approve (manager, four eyes) → an event-based gateway waiting 15 days (the timer, which ends the case) or for a
# cancellation. Odd cases claim less and go from register straight to the timer, so that timers fire while the
# clients still work on the even ones.
# collect_with_deadline (tests/fixtures/bpmn_timer_inside): note_call beside upload, which a 2-hour deadline
# cancels for too_late. The clients complete note_call only: the worker fires the deadline while they may be
# completing note_call of the same case, and the case goes on after its timer (to too_late), so a second firing
# would show.
PERFORMERS = {"register": ("clerk1", "clerk2"), "assess": ("adj1", "adj2"), "approve": ("mgr1", "mgr2"),
              "note_call": ("clerk1", "clerk2")}
FORMS = {
    "register": lambda client, case: {"claimant": f"Client {client}", "amount": (1000 if case % 2 else 5000) + client},
    "assess": lambda client, case: {"assessed_amount": 4000 + client, "note": f"client {client}"},
    "approve": lambda client, case: {"approved_by_client": client},
    "note_call": lambda client, case: {"called_by_client": client},
}


@dataclass
class Cluster:
    """Two hosts' folders (same configuration and keys) and their servers' addresses."""

    folders: list[Path]
    bases: list[str]
    tokens: dict[str, str]


def call(base: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One request; the status and the JSON answer, whatever the status."""
    request = urllib.request.Request(base + path, None if body is None else json.dumps(body).encode(), method=method,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Host A: an instance folder on a fresh PostgreSQL schema with claim_review deployed and the staff's tokens;
    host B: its own folder with A's configuration and keys (secret, data and audit keys), as a second machine
    gets them. Each serves with `insureflow serve` (two gunicorn workers); every process stops at the end."""
    with contextlib.contextmanager(fresh_database)("postgresql", tmp_path) as url:
        a, b = tmp_path / "host-a", tmp_path / "host-b"
        cli_json(a, "init", "--database-url", url)
        config = a / "insureflow.toml"
        config.write_text(config.read_text(encoding="utf-8").replace(
            "handler_modules = []", 'handler_modules = ["tests.fixtures.handlers"]'), encoding="utf-8")
        engine = create_engine(url)
        with engine.begin() as conn:  # the fixture handler's side-effect table, made once, not raced for
            conn.execute(text(EFFECTS_DDL))
        engine.dispose()
        cli_json(a, "deploy", str(FIXTURES / "bpmn"))
        cli_json(a, "deploy", str(FIXTURES / "bpmn_timer_inside"))
        for user, role in USERS.items():
            cli_json(a, "users", "add", user, "--role", role)
        tokens = {user: cli_json(a, "tokens", "create", user)["token"] for user in USERS}
        b.mkdir(mode=0o700)
        shutil.copy2(config, b / "insureflow.toml")
        shutil.copytree(a / "keys", b / "keys")
        with ThreadPoolExecutor(2) as pool:
            starting = [pool.submit(start_server, folder, 2, folder / "serve.log") for folder in (a, b)]
        servers = [f.result() for f in starting if f.exception() is None]
        try:
            if len(servers) < 2:
                raise next(f.exception() for f in starting if f.exception() is not None)
            yield Cluster([a, b], [f"http://127.0.0.1:{port}" for _, port in servers], tokens)
        finally:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(stop_server, [server for server, _ in servers]))


@dataclass
class Attempt:
    """One POST …/complete and its answer."""

    case: int
    task_id: int
    task: str
    user: str
    data: dict[str, Any]
    server: int
    status: int
    version: int | None
    message: str | None  # a refusal's message


@dataclass
class Client:
    """One of the eight clients: each request goes to the other server than its last one."""

    n: int
    cluster: Cluster
    turn: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def call(self, user: str, method: str, path: str, body: dict[str, Any] | None = None,
             server: int | None = None) -> tuple[int, Any, int]:
        if server is None:
            server, self.turn = (self.n + self.turn) % 2, self.turn + 1
        status, answer = call(self.cluster.bases[server], self.cluster.tokens[user], method, path, body)
        return status, answer, server

    def work(self, cases: dict[int, tuple[str, str]]) -> None:
        """Sweep the cases in the order every client sweeps them (so they collide), completing each case's open
        task (of those in PERFORMERS), until no case has one; after each success, read the case and the task
        through the other server."""
        for _sweep in range(12):
            busy = False
            for case, (_process, starter) in cases.items():
                status, shown, _ = self.call(starter, "GET", f"/api/instances/{case}")
                if status != 200:
                    self.errors.append(f"GET case {case}: {status} {shown}")
                    continue
                ours = [t for t in shown["open_tasks"] if t["task"] in PERFORMERS]
                if not ours:
                    continue
                busy = True
                task = ours[0]
                user, data = PERFORMERS[task["task"]][self.n % 2], FORMS[task["task"]](self.n, case)
                status, answer, server = self.call(user, "POST", f"/api/tasks/{task['id']}/complete", {"data": data})
                self.attempts.append(Attempt(case, task["id"], task["task"], user, data, server, status,
                                             answer.get("version") if status == 200 else None,
                                             None if status == 200 else answer["error"]["message"]))
                if status == 200:
                    self.check_fresh(case, starter, task["id"], user, answer["version"], 1 - server)
            if not busy:
                return
        self.errors.append(f"client {self.n}: cases still open after 12 sweeps")

    def check_fresh(self, case: int, starter: str, task_id: int, user: str, version: int, other: int) -> None:
        """The other server's answers reflect the completion just committed through this one."""
        _, shown, _ = self.call(starter, "GET", f"/api/instances/{case}", server=other)
        if shown["version"] < version or task_id in [t["id"] for t in shown["open_tasks"]]:
            self.stale.append(f"case {case} after task {task_id} (version {version}) via server {other}: "
                              f"version {shown['version']}, open {shown['open_tasks']}")
        _, seen, _ = self.call(user, "GET", f"/api/tasks/{task_id}", server=other)
        if seen.get("status") != "completed" or seen.get("completed_by") != user:
            self.stale.append(f"task {task_id} via server {other}: {seen.get('status')} by {seen.get('completed_by')}")


def fire_timers(cluster: Cluster, now: str) -> list[dict[str, Any]]:
    """Both hosts' timer workers, one pass each at the same moment (`worker --once --now`), started together."""
    workers = [start_worker_once(folder, now) for folder in cluster.folders]
    return [worker_report(w) for w in workers]


def start_cases(cluster: Cluster) -> dict[int, tuple[str, str]]:
    """The cases, started through both servers by both clerks, the two processes interleaved: id → (process,
    starter)."""
    cases = {}
    processes = ["claim_review"] * REVIEWS + ["collect_with_deadline"] * DEADLINES
    for n, process in enumerate(processes[0::3] + processes[1::3] + processes[2::3]):
        starter = f"clerk{n % 2 + 1}"
        status, started = call(cluster.bases[n % 2], cluster.tokens[starter], "POST",
                               f"/api/processes/{process}/instances", {"data": {}})
        assert status == 201, started
        cases[started["id"]] = (process, starter)
    return cases


def test_two_servers_and_two_timer_workers_lose_no_update_answer_nothing_stale_and_fire_each_timer_once(
        cluster: Cluster) -> None:
    cases = start_cases(cluster)
    # Every timer of these cases (15 days, 2 hours) is due at this moment, whenever the case reaches it.
    due = (datetime.now(UTC) + timedelta(days=16)).isoformat()
    clients = [Client(n, cluster) for n in range(CLIENTS)]
    done, reports, worker_errors = threading.Event(), [], []

    def timer_workers() -> None:  # pairs of passes while the clients work, so timers fire beside completions
        while not done.is_set():
            try:
                reports.extend(fire_timers(cluster, due))
            except Exception as exc:  # reported below, never lost in the thread
                worker_errors.append(repr(exc))
                return

    threads = [threading.Thread(target=c.work, args=(cases,)) for c in clients]
    timers = threading.Thread(target=timer_workers)
    for t in [*threads, timers]:
        t.start()
    for t in threads:
        t.join()
    done.set()
    timers.join()
    reports.extend(fire_timers(cluster, due))  # the timers of the cases finished last

    attempts = [a for c in clients for a in c.attempts]
    assert not [e for c in clients for e in c.errors] and not worker_errors
    assert {a.status for a in attempts} <= {200, 409}, Counter(a.status for a in attempts)
    wins = Counter(a.task_id for a in attempts if a.status == 200)
    expected = sum(1 if process != "claim_review" or case % 2 else 3 for case, (process, _) in cases.items())
    assert len(wins) == expected and set(wins.values()) == {1}, "each task completed exactly once"
    winners = {a.task_id: a.user for a in attempts if a.status == 200}
    conflicts = [a for a in attempts if a.status == 409]
    assert conflicts, "the clients collided on the same tasks"
    # A task is refused only because its winner completed it first: never because a server acted on a stale
    # workflow (a cached state older than the committed one would not have the task waiting for input).
    assert [a.message for a in conflicts if not a.message.endswith(f"already completed by {winners[a.task_id]}")] == []
    assert {a.server for a in attempts if a.status == 200} == {0, 1}, "both servers completed tasks"
    assert [s for c in clients for s in c.stale] == []

    auditor = cluster.tokens["auditor"]
    for case, (process, _) in cases.items():
        status, shown = call(cluster.bases[case % 2], auditor, "GET", f"/api/instances/{case}")
        assert status == 200
        if process == "claim_review":  # the cooling-off timer ended it
            assert (shown["status"], shown["open_tasks"]) == ("completed", []), shown
        else:  # the deadline cancelled the upload; too_late waits (the clients leave it)
            assert (shown["status"], [t["task"] for t in shown["open_tasks"]]) == ("running", ["too_late"]), shown
        status, page = call(cluster.bases[1 - case % 2], auditor, "GET", f"/api/instances/{case}/history?page_size=100")
        assert status == 200 and page["total"] == len(page["items"])
        completed = [(e["payload"]["task"], e["actor"], e["payload"]["data"]) for e in page["items"]
                     if e["type"] == "task_completed"]
        won = [(a.task_id, a.user, a.data) for a in attempts if a.case == case and a.status == 200]
        assert sorted(completed, key=str) == sorted(won, key=str), f"case {case}: no lost or extra update"
        assert [e["type"] for e in page["items"]].count("timer_fired") == 1, f"case {case}: the timer fired once"
    assert sum(r["timers_fired"] for r in reports) == REVIEWS + DEADLINES
    assert cli_json_allowing(cluster.folders[0], "verify")["ok"], "the history chains hold under concurrent writers"
