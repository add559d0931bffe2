"""Issue 16's goals table from one run: every goal measured now, on this machine, next to its target.

    python bench/goals.py [--claims 300] [--memory-claims 10000] [--pg-claims 120] [--pg-url URL | --no-pg] …

In order: the engine alone against bare SpiffWorkflow (engine_bench); then one SQLite instance served with 2
gunicorn workers — a few warm-up claims, the floor (bare SpiffWorkflow on bpmn/claims.bpmn with stand-ins, see
claims_floor.py), `--claims` claims with one client, `--claims` with 8 (bytes per claim over those two phases),
then `--memory-claims` with `--memory-clients` for each web worker's RSS and workflow cache; then PostgreSQL with
1, 2 and 4 workers × 8 and 32 clients (pg_scale_bench's cells). Prints the table: goal | target | measured | met.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import engine_bench
from claims_floor import bare_claims, first_finished_claim, recorded_claim
from http_bench import BenchError, ms, run_clients, start_server, stop_server
from pg_scale_bench import DEFAULT_PG, Cell, fresh_pg_database, measure_size, prepare, serve_cells

SQLITE_WORKERS = 2


@dataclass
class Row:
    """One line of the table."""

    goal: str
    target: str
    measured: str
    met: bool | None  # None: a figure to report, no target of its own

    @property
    def verdict(self) -> str:
        return "reported" if self.met is None else "met" if self.met else "NOT MET"


def rss_mb(pid: int) -> float | None:
    """The resident set of a process in MB (from /proc), None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def engine_alone(n: int) -> list[Row]:
    """engine_bench: the engine API on SQLite against bare SpiffWorkflow on its small diagram (goal ≤ 1.0×)."""
    print(f"engine alone: {n} instances, InsureFlow and bare (engine_bench) …", flush=True)
    engine_bench.bare(min(n, 50))
    with tempfile.TemporaryDirectory() as warm:
        engine_bench.insureflow(min(n, 20), Path(warm))
    bare_s, _ = engine_bench.bare(n)
    with tempfile.TemporaryDirectory() as folder:
        ifw_s, _, _ = engine_bench.insureflow(n, Path(folder))
    ratio = ifw_s / bare_s
    return [Row("engine alone / bare SpiffWorkflow (engine_bench, 3 human tasks)", "≤ 1.0×",
                f"{ratio:.2f}× ({ifw_s / n * 1000:.2f} vs {bare_s / n * 1000:.2f} ms)", ratio <= 1.0)]


def sqlite_goals(args: argparse.Namespace, tmp: Path) -> list[Row]:
    """One SQLite instance, 2 gunicorn workers: the floor, one client, 8 clients, bytes, memory."""
    n, warm = args.claims, 4 * SQLITE_WORKERS
    print(f"SQLite: init --demo, {warm + 2 * n + args.memory_claims} policies …", flush=True)
    db = prepare("sqlite", tmp / "sqlite", None, warm + 2 * n + args.memory_claims)
    server, port = start_server(db.folder, SQLITE_WORKERS, tmp / "sqlite.log")
    caches: dict[int, dict[str, int]] = {}
    try:
        db.drive(port, 1, warm)
        print(f"floor: bare SpiffWorkflow on claims.bpmn, {args.floor_claims} claims …", flush=True)
        record = recorded_claim(db.folder, first_finished_claim(db.folder))
        bare_claims(record, min(args.floor_claims, 20))
        floor_s, _ = bare_claims(record, args.floor_claims)
        floor_ms = floor_s / args.floor_claims * 1000
        print(f"SQLite: {n} claims with one client, {n} with 8 …", flush=True)
        driven: list[tuple[float, int, dict, dict]] = []
        size, tables = measure_size(db, lambda: driven.extend((db.drive(port, 1, n), db.drive(port, 8, n))))
        (one_s, one_done, one, sql), (many_s, many_done, many, _) = driven
        print(f"memory: {args.memory_claims} claims with {args.memory_clients} clients …", flush=True)
        started = time.perf_counter()
        first = db.next_claim
        db.next_claim += args.memory_claims
        _, mem_done, _, _ = run_clients(port, db.tokens, args.memory_clients, args.memory_claims, first,
                                        args.max_seconds, caches)
        mem_s = time.perf_counter() - started
        rss = {pid: rss_mb(pid) for pid in caches}
    finally:
        stop_server(server)
    per_claim_ms = one_s / one_done * 1000
    submit = one["complete"]
    statements = sum(sql.values()) / one_done
    worst = max((v for v in rss.values() if v is not None), default=float("nan"))
    hits = sum(c["hits"] for c in caches.values())
    takes = hits + sum(c["misses"] for c in caches.values())
    cache_note = ", ".join(f"worker {pid}: {rss[pid]:.0f} MB, {c['size']}/{c['capacity']} cached, "
                           f"{c['hits'] / max(1, c['hits'] + c['misses']):.0%} hits" for pid, c in caches.items())
    grown = sorted(((b, t) for t, b in tables.items()), reverse=True)[:4]
    return [
        Row("one client, SQLite: claims/s (7 requests a claim)", "≥ 40",
            f"{one_done / one_s:.1f} ({per_claim_ms:.1f} ms a claim)", one_done / one_s >= 40),
        Row("one client / bare SpiffWorkflow on claims.bpmn (save/load)", "≤ 3×",
            f"{per_claim_ms / floor_ms:.2f}× (floor {floor_ms:.1f} ms a claim)", per_claim_ms <= 3 * floor_ms),
        Row("SQL statements per claim", "≤ 40",
            f"{statements:.1f} (" + ", ".join(f"{k} {sql[k] / len(one[k]):.1f}" for k in ("start", "inbox",
                                                                                          "complete")) + " each)",
            statements <= 40),
        Row("task submit median, one client", "≤ 8 ms", f"{ms(submit, .5):.1f} ms", ms(submit, .5) <= 8),
        Row("task submit p95, one client", "≤ 15 ms", f"{ms(submit, .95):.1f} ms", ms(submit, .95) <= 15),
        Row(f"8 clients, SQLite, {SQLITE_WORKERS} workers: completions/s", "≥ 150",
            f"{len(many['complete']) / many_s:.1f} ({many_done / many_s:.1f} claims/s)",
            len(many["complete"]) / many_s >= 150),
        Row("database per claim with history, SQLite (file + WAL)", "≤ 10 KB",
            f"{size / 1024:.1f} KB (" + ", ".join(f"{t} {b / 1024:.1f}" for b, t in grown) + ")", size <= 10 * 1024),
        Row(f"RSS per web worker after {mem_done + one_done + many_done + warm} claims "
            f"({args.memory_clients} clients, {mem_done / mem_s:.1f} claims/s)", "≤ 300 MB",
            f"{worst:.0f} MB max; workflow cache {hits / max(1, takes):.0%} hits ({cache_note})",
            worst <= 300),
    ]


def pg_goals(args: argparse.Namespace, tmp: Path) -> list[Row]:
    """PostgreSQL: 1, 2, 4 workers × 8 and 32 clients; the speed-up from 1 to 2 workers; bytes per claim."""
    per_server = sum(2 * w + len(args.pg_clients) * args.pg_claims for w in args.pg_workers)
    cells: list[Cell] = []
    with fresh_pg_database(args.pg_url, args.pg_database) as url:
        print(f"PostgreSQL: init --demo, {per_server} policies; cells of {args.pg_claims} claims …", flush=True)
        db = prepare("postgresql", tmp / "pg", url, per_server)
        size, tables = measure_size(db, lambda: cells.extend(
            cell for w in args.pg_workers
            for cell in serve_cells(db, w, args.pg_clients, args.pg_claims, tmp / f"pg-{w}.log")))
    rows = []
    for c in cells:
        rows.append(Row(f"PostgreSQL, {c.workers} workers, {c.clients} clients: completions/s", "report",
                        f"FAILED: {c.failure[:60]}" if c.failure else
                        f"{c.rate:.1f} (submit {c.submit_ms[0]:.0f}/{c.submit_ms[1]:.0f} ms, "
                        f"{c.statements:.0f} SQL a claim)", False if c.failure else None))
    by = {(c.workers, c.clients): c for c in cells if not c.failure}
    for clients in args.pg_clients:
        if (1, clients) in by and (2, clients) in by:
            ratio = by[2, clients].rate / by[1, clients].rate
            rows.append(Row(f"PostgreSQL speed-up 1 → 2 workers, {clients} clients", "≥ 1.7×", f"{ratio:.2f}×",
                            ratio >= 1.7))
    grown = sorted(((b, t) for t, b in tables.items()), reverse=True)[:4]
    rows.append(Row("database per claim with history, PostgreSQL (relation sizes)", "≤ 10 KB",
                    f"{size / 1024:.1f} KB (" + ", ".join(f"{t} {b / 1024:.1f}" for b, t in grown) + ")",
                    size <= 10 * 1024))
    return rows


def print_table(rows: list[Row]) -> None:
    """goal | target | measured | met / not met, as a Markdown table (pasteable into bench/PROFILE.md)."""
    print("\n| goal | target | measured | met / not met |\n| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r.goal} | {r.target} | {r.measured} | {r.verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=300, help="claims per SQLite phase (one client, 8 clients)")
    parser.add_argument("--floor-claims", type=int, default=200, help="bare claims for the floor")
    parser.add_argument("--memory-claims", type=int, default=10000, help="further claims before reading the RSS")
    parser.add_argument("--memory-clients", type=int, default=8)
    parser.add_argument("--engine-instances", type=int, default=1000)
    parser.add_argument("--pg-url", default=os.environ.get("INSUREFLOW_BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--pg-database", default="insureflow_goals", help="created for the run and dropped after")
    parser.add_argument("--pg-claims", type=int, default=120, help="claims per PostgreSQL cell")
    parser.add_argument("--pg-workers", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2, 4])
    parser.add_argument("--pg-clients", type=lambda v: [int(x) for x in v.split(",")], default=[8, 32])
    parser.add_argument("--no-pg", action="store_true", help="leave PostgreSQL out")
    parser.add_argument("--max-seconds", type=float, default=900, help="time bound of the memory phase")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = engine_alone(args.engine_instances)
    with tempfile.TemporaryDirectory(prefix="insureflow-goals-") as folder:
        rows += sqlite_goals(args, Path(folder))
        if not args.no_pg:
            rows += pg_goals(args, Path(folder))
    print_table(rows)
    print(f"\n{len(rows)} rows in {(time.perf_counter() - started) / 60:.1f} min; {os.cpu_count()} CPUs shared by the "
          f"servers, the clients and the database; load average at the end: "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} — other work on the machine slows every figure")
    if any(r.measured.startswith("FAILED") for r in rows):
        raise SystemExit("a cell failed (above)")


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:
        raise SystemExit(f"benchmark stopped: {exc}") from None
