"""HTTP benchmark: the served app (gunicorn, SQLite) driven through the REST API only, claims from
first notice to payout, against the issue's goals and bare SpiffWorkflow measured in the same run.

    python bench/http_bench.py [--claims N] [--clients 8] [--inbox-instances 100000] [--workers W]

Each claim: POST /api/processes/claims/instances, then for register → assess → approve: GET /api/tasks
(the performer's inbox, to find the task) and POST /api/tasks/{id}/complete — 7 requests, 3 human tasks.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine_bench import bare  # noqa: E402  (bench/ is on sys.path when this file runs as a script)

from insureflow import instance_folder, sql_count  # noqa: E402
from tests import chaos, served  # noqa: E402
from tests.served import stop_server  # noqa: E402

STAFF = {"register_claim": "claims.clerk", "assess_amount": "adjuster", "approve_payout": "claims.manager"}
CLAIMED, PAYABLE = 68000, 67500  # MED01's deductible is 500; 67,500 is above the 50,000 approval limit
PEER = "spiff-arena on SQLite: 5.4 claims/s, submit 48.6 ms median / 59 ms p95, 28.9 KB per claim"
Timings = dict[str, list[float]]


class BenchError(Exception):
    """The server refused, or a claim took an unexpected path: the figures would mean nothing."""


def insureflow_cli(folder: Path, *args: str) -> dict:
    """Run `insureflow --json …` and return its JSON answer."""
    done = subprocess.run([sys.executable, "-m", "insureflow", "--instance", str(folder), "--json", *args],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise BenchError(f"insureflow {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def seed_policies(folder: Path, count: int) -> None:
    """One MED01 customer and policy per benchmark claim (set-up, not measured; see bench/README.md)."""
    chaos.seed_policies(folder, count, prefix="PBENCH", name="Bench Claimant", sum_insured=1000000, term_years=10,
                        premium=1000)


FORMS = {
    "register_claim": lambda i: {
        "policy_number": f"PBENCH{i:06d}", "claimant_name": f"Bench Claimant {i}",
        "claimant_id_number": chaos.claimant(i)[1],
        "incident_date": (date.today() - timedelta(days=1 + i % 360)).isoformat(), "claim_type": "hospitalization",
        "cause_of_loss": "illness", "description": "Appendectomy, 4 nights", "claimed_amount": CLAIMED,
        "payee_account": f"62229{i:014d}",
        "documents": ["claim_form", "id_copy", "bank_card", "medical_invoice", "discharge_summary"],
        "region": "beijing"},
    "assess_amount": lambda i: {"decision": "pay", "payable_amount": PAYABLE, "note": "bench"},
    "approve_payout": lambda i: {"approved": True, "reason": "bench"},
}


class Client:
    """One HTTP client (its own connection) with the staff's tokens; times every request by kind."""

    def __init__(self, port: int, tokens: dict[str, str]):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.tokens = tokens
        self.timings: Timings = defaultdict(list)
        self.statements: dict[str, int] = defaultdict(int)  # SQL statements the server ran, by kind of request
        self.caches: dict[int, dict[str, int]] = {}  # each answering worker's pid → its workflow cache's figures

    def call(self, kind: str, method: str, path: str, user: str, body: dict | None = None) -> dict:
        """One request as `user`; an answer other than 2xx stops the benchmark."""
        headers = {"Authorization": f"Bearer {self.tokens[user]}", "Content-Type": "application/json"}
        started = time.perf_counter()
        self.conn.request(method, path, None if body is None else json.dumps(body), headers)
        response = self.conn.getresponse()
        data = response.read()
        self.timings[kind].append(time.perf_counter() - started)
        self.statements[kind] += int(response.getheader(sql_count.HEADER) or 0)
        cache = response.getheader(sql_count.CACHE_HEADER)
        if cache:
            figures = {k: int(v) for k, v in (part.split("=") for part in cache.split(";"))}
            self.caches[figures.pop("pid")] = figures
        if response.status >= 300:
            raise BenchError(f"{method} {path} as {user}: {response.status} {data[:500]!r}")
        return json.loads(data)

    def claim(self, i: int) -> None:
        """One claim from first notice to payout: start, then find each task in the inbox and complete it."""
        answer = self.call("start", "POST", "/api/processes/claims/instances", "claims.clerk", {})
        instance = answer["id"]
        for step, user in STAFF.items():
            inbox = self.call("inbox", "GET", "/api/tasks?scope=all&process=claims&page_size=100", user)
            found = [t["id"] for t in inbox["items"] if t["instance_id"] == instance and t["task"] == step]
            if not found:
                raise BenchError(f"claim {i}: {step} not in {user}'s inbox; the case is {answer['status']}, "
                                 f"waiting for {answer['open_tasks']}")
            answer = self.call("complete", "POST", f"/api/tasks/{found[0]}/complete", user, {"data": FORMS[step](i)})
        if answer["status"] != "completed" or answer["open_tasks"]:
            raise BenchError(f"claim {i} ended {answer['status']} waiting for {answer['open_tasks']}")


def start_server(folder: Path, workers: int, log: Path) -> tuple[subprocess.Popen, int]:
    """`insureflow serve --no-worker` on a free port in its own process group, once /api/health answers (≤ 60 s);
    every answer says how many SQL statements it took (insureflow/sql_count.py)."""
    try:
        return served.start_server(folder, workers, log, env={sql_count.ENVIRONMENT: "1"})
    except served.ServerStartError as exc:
        raise BenchError(str(exc)) from None


def db_bytes(db: Path) -> tuple[int, dict[str, int]]:
    """File + WAL size after a checkpoint (the WAL's high-water mark would hide growth), and bytes per table."""
    with sqlite3.connect(db, timeout=30) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = dict(con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    wal = db.with_name(db.name + "-wal")
    return db.stat().st_size + (wal.stat().st_size if wal.exists() else 0), tables


def run_clients(port: int, tokens: dict[str, str], clients: int, claims: int, first: int, seconds: float,
                caches: dict[int, dict[str, int]] | None = None) -> tuple[float, int, Timings, dict[str, int]]:
    """`clients` threads, each with its own connection, share `claims` claims and start no new one after
    `seconds`. Returns the wall time, the claims done, and the timings and SQL statements of all clients;
    `caches` gets the last workflow cache figures each server worker answered with (by pid)."""
    numbers, lock, deadline = iter(range(first, first + claims)), threading.Lock(), time.monotonic() + seconds
    workers, done, errors = [Client(port, tokens) for _ in range(clients)], [], []

    def work(client: Client) -> None:
        while not errors and time.monotonic() < deadline:
            with lock:
                i = next(numbers, None)
            if i is None:
                return
            try:
                client.claim(i)
                done.append(i)
            except Exception as exc:  # stop everyone: the figures would mean nothing
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in workers]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise BenchError(f"a client failed: {errors[0]}") from errors[0]
    for c in workers if caches is not None else ():
        for pid, figures in c.caches.items():  # the latest answer of each worker: the most takes counted
            if pid not in caches or sum(figures.values()) > sum(caches[pid].values()):
                caches[pid] = figures
    kinds = workers[0].timings
    return (elapsed, len(done), {kind: [v for c in workers for v in c.timings[kind]] for kind in kinds},
            {kind: sum(c.statements[kind] for c in workers) for kind in kinds})


def seed_inbox(db: Path, template: int, count: int) -> None:
    """Copy one real open claim instance `count` times with bulk SQL: its instances, human_tasks, waits and
    events rows with new ids, instance ids and business keys, due dates one second apart."""
    with sqlite3.connect(db, timeout=30, isolation_level=None) as con:
        con.execute("BEGIN IMMEDIATE")
        base = con.execute("SELECT MAX(id) FROM instances").fetchone()[0]
        con.execute("CREATE TEMP TABLE k (k INTEGER PRIMARY KEY)")
        con.execute("WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c WHERE k < ?) "
                    "INSERT INTO k SELECT k FROM c", (count,))
        for table in ("instances", "human_tasks", "waits", "events"):
            key = "id" if table == "instances" else "instance_id"
            values = {key: f"{base} + k.k", "business_key": "'BENCH-' || k.k",
                      "due_at": "strftime('%Y-%m-%d %H:%M:%S', t.due_at, '-' || k.k || ' seconds') || '.000000'"}
            columns = [row[1] for row in con.execute(f"PRAGMA table_info({table})") if row[1] != "id" or key == "id"]
            con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT "
                        f"{', '.join(values.get(c, f't.{c}') for c in columns)} FROM {table} t, k WHERE t.{key} = ?",
                        (template,))
        con.execute("COMMIT")


def ms(values: list[float], q: float) -> float:
    """The q-quantile of `values` in milliseconds (q=0.5 is the median)."""
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1] * 1000


def measure(args: argparse.Namespace) -> dict:
    """Set up a fresh demo instance, serve it, drive the phases; the raw figures."""
    n, warm, r = args.claims, 4 * args.workers, {}
    with tempfile.TemporaryDirectory(prefix="insureflow-http-bench-") as tmp:
        folder, log = Path(tmp) / "instance", Path(tmp) / "server.log"
        print(f"instance folder {folder}: init --demo, {warm + 2 * n} benchmark policies …", flush=True)
        insureflow_cli(folder, "init", "--demo")
        seed_policies(folder, warm + 2 * n)
        tokens = {user: insureflow_cli(folder, "tokens", "create", user)["token"] for user in STAFF.values()}
        db = Path(instance_folder.load(folder).database_url.removeprefix("sqlite:///"))
        print("bare SpiffWorkflow baseline (bench/engine_bench.py's diagram and `bare`) …", flush=True)
        bare(min(n, 50))
        r["bare_s"], _ = bare(n)
        server, port = start_server(folder, args.workers, log)
        try:
            print(f"serving on 127.0.0.1:{port} with {args.workers} gunicorn workers; {warm} claims to warm up, "
                  f"then {n} with one client and {n} with {args.clients} …", flush=True)
            run_clients(port, tokens, 1, warm, 0, args.max_seconds)
            r["size0"], r["tables0"] = db_bytes(db)
            r["one_s"], r["one_done"], r["one"], r["one_sql"] = run_clients(port, tokens, 1, n, warm, args.max_seconds)
            r["many_s"], r["many_done"], r["many"], _ = run_clients(port, tokens, args.clients, n, warm + n,
                                                                    args.max_seconds)
            r["size1"], r["tables1"] = db_bytes(db)
            client = Client(port, tokens)
            template = client.call("start", "POST", "/api/processes/claims/instances", "claims.clerk", {})["id"]
            print(f"seeding {args.inbox_instances} open instances by bulk SQL …", flush=True)
            started = time.perf_counter()
            seed_inbox(db, template, args.inbox_instances)
            r["seed_s"] = time.perf_counter() - started
            db_bytes(db)
            for _ in range(2 * args.workers):  # each worker's first look at the grown tables is slower
                client.call("warm", "GET", "/api/tasks", "claims.clerk")
            for _ in range(args.inbox_requests):
                r["visible"] = client.call("inbox", "GET", "/api/tasks", "claims.clerk")["total"]
            r["inbox"] = client.timings["inbox"]
        finally:
            stop_server(server)
        r["server_log"] = log.read_text()
    return r


def line(label: str, value: float, unit: str, goal: float, higher: bool, note: str = "") -> None:
    """One figure next to its goal from the issue."""
    met = value >= goal if higher else value <= goal
    print(f"{label:<42} {value:8.2f} {unit:<13} goal {'≥' if higher else '≤'} {goal:g}: {'met' if met else 'NOT MET'}"
          + (f"   {note}" if note else ""))


def report(args: argparse.Namespace, r: dict) -> None:
    """The figures next to the issue's goals."""
    one, many, submit, done = r["one"], r["many"], r["one"]["complete"], r["one_done"] + r["many_done"]
    per_claim_ms, bare_ms = r["one_s"] / r["one_done"] * 1000, r["bare_s"] / args.claims * 1000
    print(f"\n{r['one_done']} claims with one client, {r['many_done']} with {args.clients}; {args.workers} gunicorn "
          f"workers; {os.cpu_count()} CPUs shared by server and clients; per claim 3 human tasks, 7 requests")
    line("one client, end to end", r["one_done"] / r["one_s"], "claims/s", 54, True, f"{per_claim_ms:.1f} ms/claim")
    line("task submit (POST …/complete), median", ms(submit, .5), "ms", 4, False)
    line("task submit (POST …/complete), p95", ms(submit, .95), "ms", 8, False)
    line(f"{args.clients} clients at once", len(many["complete"]) / r["many_s"], "completions/s", 400, True,
         f"{r['many_done'] / r['many_s']:.1f} claims/s; submit median {ms(many['complete'], .5):.1f} ms, "
         f"p95 {ms(many['complete'], .95):.1f} ms")
    sql = r["one_sql"]
    line("SQL statements per claim", sum(sql.values()) / r["one_done"], "statements", 40, False,
         ", ".join(f"{kind} {sql[kind] / len(one[kind]):.1f} each" for kind in ("start", "inbox", "complete"))
         + " (issue 16)")
    line("database per claim, with history", (r["size1"] - r["size0"]) / done / 1024, "KB", 10, False,
         "file + WAL growth, each measured after a checkpoint")
    line(f"inbox p95, {args.inbox_instances} more open instances", ms(r["inbox"], .95), "ms", 20, False,
         f"median {ms(r['inbox'], .5):.2f} ms over {len(r['inbox'])} GET /api/tasks as claims.clerk")
    print("  one client, other requests: " + "; ".join(
        f"{kind} median {ms(one[kind], .5):.2f} ms, p95 {ms(one[kind], .95):.2f} ms" for kind in ("start", "inbox")))
    grown = sorted(((r["tables1"].get(t, 0) - r["tables0"].get(t, 0), t) for t in r["tables1"]), reverse=True)[:6]
    print("  database growth per claim: " + ", ".join(f"{t} {b / done / 1024:.1f} KB" for b, t in grown))
    print(f"  the {args.inbox_instances} open instances are copies of one real open claim (at register_claim) inserted"
          f" by bulk SQL in {r['seed_s']:.1f} s, since starting them through the engine would take too long; the "
          f"clerk's inbox holds {r.get('visible')} tasks")
    print(f"bare SpiffWorkflow (engine_bench's diagram, JSON save/load around each human task): {bare_ms:.2f} ms/claim;"
          f" InsureFlow over HTTP / bare per claim: {per_claim_ms / bare_ms:.1f}x")
    print(f"peer: {PEER}")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} — other work on the machine "
          "slows every figure")
    log = r["server_log"]
    if "Traceback" in log:
        print(f"WARNING: {log.count('Traceback')} traceback(s) in the server log; the last:\n"
              f"{log[log.rindex('Traceback'):][:3000]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=500, help="claims per phase (one client, then --clients)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--inbox-instances", type=int, default=100000)
    parser.add_argument("--inbox-requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2), help="gunicorn workers")
    parser.add_argument("--max-seconds", type=float, default=300, help="time bound of each driving phase")
    args = parser.parse_args()
    report(args, measure(args))


if __name__ == "__main__":
    main()
