"""Scale-out benchmark: the claims path over HTTP on PostgreSQL with 1, 2 and 4 gunicorn workers and 8 and 32
clients, an SQLite cell beside it, and bare SpiffWorkflow measured in the same run (issue 16).

    python bench/pg_scale_bench.py [--pg-url URL] [--database insureflow_bench] [--claims 120]
                                   [--workers 1,2,4] [--clients 8,32] [--sqlite-workers 2 | --sqlite-workers 0]

The PostgreSQL server comes from --pg-url, else INSUREFLOW_BENCH_PG_URL, else the local one
(postgresql+psycopg://insureflow:insureflow@127.0.0.1:5432/); the database named by --database is created fresh
for the run (dropped first if a crashed run left it) and dropped at the end. The claims are http_bench's (7
requests, 3 human tasks, its clients and forms); each cell drives --claims claims after a short warm-up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_bench import bare
from http_bench import (
    STAFF,
    BenchError,
    db_bytes,
    insureflow_cli,
    ms,
    run_clients,
    seed_policies,
    start_server,
    stop_server,
)

from insureflow import instance_folder

DEFAULT_PG = "postgresql+psycopg://insureflow:insureflow@127.0.0.1:5432/"
SPEED_UP_GOAL = 1.7  # issue 16: completions/s from 1 to 2 gunicorn workers on this 2-core machine
MAX_SECONDS = 300  # each cell's time bound


@contextlib.contextmanager
def fresh_pg_database(server: str, name: str) -> Iterator[str]:
    """A new, empty database `name` on the server (dropped first if left over), dropped again afterwards."""
    if not name.isidentifier():
        raise SystemExit(f"--database {name!r}: letters, digits and underscores only")
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def pg_bytes(url: str | URL) -> tuple[int, dict[str, int]]:
    """Every table of the database with its indexes and TOAST (pg_total_relation_size), in all and per table."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()")).all()
    finally:
        engine.dispose()
    tables = {name: int(size) for name, size in rows}
    return sum(tables.values()), tables


@dataclass
class Cell:
    """One served configuration under one number of clients."""

    workers: int
    clients: int
    seconds: float
    claims: int
    completions: int
    submit_ms: tuple[float, float]
    statements: float
    failure: str = ""  # why the cell stopped: a claim went another way (its figures are left out)

    @property
    def rate(self) -> float:
        """Task completions (POST …/complete) per second of wall time."""
        return self.completions / self.seconds


@dataclass
class Database:
    """One database under test: its instance folder, its tokens, its size probe and the claims driven so far."""

    kind: str
    folder: Path
    tokens: dict[str, str]
    size: Callable[[], tuple[int, dict[str, int]]]
    next_claim: int = 0

    def drive(self, port: int, clients: int, claims: int) -> tuple[float, int, dict, dict]:
        """`claims` new claims with `clients` clients."""
        first, self.next_claim = self.next_claim, self.next_claim + claims
        return run_clients(port, self.tokens, clients, claims, first, MAX_SECONDS)


def prepare(kind: str, folder: Path, database_url: str | None, policies: int) -> Database:
    """A demo instance on the database, one benchmark policy per claim, the staff's tokens."""
    insureflow_cli(folder, "init", "--demo", *(["--database-url", database_url] if database_url else []))
    seed_policies(folder, policies)
    tokens = {user: insureflow_cli(folder, "tokens", "create", user)["token"] for user in STAFF.values()}
    url = instance_folder.load(folder).database_url
    size = (lambda: pg_bytes(url)) if kind == "postgresql" else (
        lambda: db_bytes(Path(url.removeprefix("sqlite:///"))))
    return Database(kind, folder, tokens, size)


def serve_cells(db: Database, workers: int, clients: list[int], claims: int, log: Path) -> list[Cell]:
    """Serve with `workers` gunicorn workers; warm each worker up, then one cell per number of clients."""
    server, port = start_server(db.folder, workers, log)
    cells = []
    try:
        db.drive(port, workers, 2 * workers)  # each worker's first requests load specs, DMN tables, pools
        for count in clients:
            try:
                seconds, done, timings, statements = db.drive(port, count, claims)
            except BenchError as exc:  # a finding, not noise: say it, keep the other cells
                cells.append(Cell(workers, count, 1, 0, 0, (0, 0), 0, failure=str(exc)))
                print(f"  {db.kind}, {workers} workers, {count:2d} clients: FAILED: {exc}", flush=True)
                continue
            cells.append(Cell(workers, count, seconds, done, len(timings["complete"]),
                              (ms(timings["complete"], .5), ms(timings["complete"], .95)),
                              sum(statements.values()) / done))
            print(f"  {db.kind}, {workers} workers, {count:2d} clients: {cells[-1].rate:6.1f} completions/s",
                  flush=True)
    finally:
        stop_server(server)
    if "Traceback" in log.read_text():
        print(f"WARNING: traceback(s) in {log.name}:\n{log.read_text()[-3000:]}")
    return cells


def measure_size(db: Database, run: Callable[[], object]) -> tuple[float, dict[str, float]]:
    """Bytes per claim: the growth of the database over the claims `run` drives, divided by them; in all and
    per table (with its indexes)."""
    (before, tables0), first = db.size(), db.next_claim
    run()
    after, tables1 = db.size()
    claims = db.next_claim - first
    return (after - before) / claims, {t: (b - tables0.get(t, 0)) / claims for t, b in tables1.items()}


def report(args: argparse.Namespace, pg: list[Cell], sqlite: list[Cell],
           sizes: dict[str, tuple[float, dict[str, float]]], bare_ms: float) -> None:
    """The table of cells, the speed-up from 1 to 2 workers against its goal, bytes per claim, the floor."""
    print(f"\nclaims path over HTTP (7 requests, 3 human tasks a claim), {args.claims} claims a cell; "
          f"{os.cpu_count()} CPUs shared by the database, the servers and the clients")
    print(f"{'database':<11}{'workers':>8}{'clients':>8}{'completions/s':>15}{'claims/s':>10}"
          f"{'submit median':>15}{'p95':>8}{'SQL/claim':>11}")
    for kind, cells in (("postgresql", pg), ("sqlite", sqlite)):
        for c in cells:
            if c.failure:
                print(f"{kind:<11}{c.workers:>8}{c.clients:>8}   FAILED: {c.failure}")
                continue
            print(f"{kind:<11}{c.workers:>8}{c.clients:>8}{c.rate:>15.1f}{c.claims / c.seconds:>10.1f}"
                  f"{c.submit_ms[0]:>12.1f} ms{c.submit_ms[1]:>5.0f} ms{c.statements:>11.1f}")
    by = {(c.workers, c.clients): c for c in pg if not c.failure}
    for clients in args.clients:
        if (1, clients) in by and (2, clients) in by:
            ratio = by[2, clients].rate / by[1, clients].rate
            print(f"PostgreSQL speed-up 1 → 2 workers, {clients} clients: {ratio:.2f}x   goal ≥ {SPEED_UP_GOAL}x: "
                  f"{'met' if ratio >= SPEED_UP_GOAL else 'NOT MET'}")
    for c in sqlite:
        if c.workers == 2 and c.clients == 8 and not c.failure:
            print(f"SQLite, 2 workers, 8 clients: {c.rate:.1f} completions/s   goal ≥ 150: "
                  f"{'met' if c.rate >= 150 else 'NOT MET'}")
    for kind, (size, tables) in sizes.items():
        how = "pg_total_relation_size over every table" if kind == "postgresql" else \
            "file + WAL after a checkpoint"
        print(f"database per claim, with history, {kind}: {size / 1024:.1f} KB ({how})   goal ≤ 10 KB: "
              f"{'met' if size <= 10 * 1024 else 'NOT MET'}")
        grown = sorted(((b, t) for t, b in tables.items()), reverse=True)[:6]
        print("  " + ", ".join(f"{t} {b / 1024:.1f} KB" for b, t in grown))
    best = max(pg, key=lambda c: c.claims / c.seconds)  # a failed cell counts 0
    print(f"bare SpiffWorkflow (engine_bench's diagram, JSON save/load around each human task, one process): "
          f"{bare_ms:.2f} ms/claim = {1000 / bare_ms:.0f} claims/s; the best PostgreSQL cell ({best.workers} "
          f"workers, {best.clients} clients) drives {best.claims / best.seconds:.1f} claims/s")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} — other work on the machine "
          "slows every figure")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get("INSUREFLOW_BENCH_PG_URL", DEFAULT_PG),
                        help="the PostgreSQL server (its database part is ignored)")
    parser.add_argument("--database", default="insureflow_bench", help="created for the run and dropped after")
    parser.add_argument("--claims", type=int, default=120, help="claims per cell")
    parser.add_argument("--workers", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2, 4])
    parser.add_argument("--clients", type=lambda v: [int(x) for x in v.split(",")], default=[8, 32])
    parser.add_argument("--sqlite-workers", type=int, default=2, help="an SQLite cell with 8 clients (0: none)")
    args = parser.parse_args()
    per_server = sum(2 * w + len(args.clients) * args.claims for w in args.workers)
    print("bare SpiffWorkflow baseline (bench/engine_bench.py's diagram and `bare`) …", flush=True)
    bare(min(args.claims, 50))
    bare_ms = bare(args.claims)[0] / args.claims * 1000
    sizes: dict[str, tuple[float, dict[str, float]]] = {}
    sqlite: list[Cell] = []
    with tempfile.TemporaryDirectory(prefix="insureflow-pg-scale-") as tmp:
        with fresh_pg_database(args.pg_url, args.database) as url:
            print(f"database {args.database}: init --demo, {per_server} benchmark policies …", flush=True)
            db = prepare("postgresql", Path(tmp) / "pg", url, per_server)
            pg: list[Cell] = []
            sizes["postgresql"] = measure_size(db, lambda: pg.extend(
                cell for w in args.workers
                for cell in serve_cells(db, w, args.clients, args.claims, Path(tmp) / f"pg-{w}.log")))
        if args.sqlite_workers:
            print("SQLite: init --demo …", flush=True)
            lite = prepare("sqlite", Path(tmp) / "sqlite", None, 2 * args.sqlite_workers + args.claims)
            sizes["sqlite"] = measure_size(lite, lambda: sqlite.extend(
                serve_cells(lite, args.sqlite_workers, [8], args.claims, Path(tmp) / "sqlite.log")))
    report(args, pg, sqlite, sizes, bare_ms)
    if any(c.failure for c in pg + sqlite):
        raise SystemExit("a cell failed: a claim took another path (above)")


if __name__ == "__main__":
    main()
