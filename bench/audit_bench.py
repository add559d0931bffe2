"""Audit benchmark: a database of finished claims driven through the engine API with the real handlers, then
the whole-database chain verification (events/s) and the replay of every claim against the time the claims
first took — the goals of issue 5.

    python bench/audit_bench.py [--claims 10000]

Each claim goes from first notice to payout (register → assess → approve, 8 handlers, 4 DMN tables) on its own
MED01 policy, as bench/http_bench.py drives them over HTTP, here in one process on SQLite.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from http_bench import FORMS, STAFF, seed_policies  # noqa: E402  (bench/ is on sys.path when run as a script)

from engine.audit.deployment_integrity import verify_deployments  # noqa: E402
from engine.audit.replay import replay_instance  # noqa: E402
from engine.workflow import instances, task_service  # noqa: E402
from engine.workflow.actors import OPERATOR, actor_for  # noqa: E402
from engine.workflow.history import verify_chains  # noqa: E402
from insureflow import instance_folder, schema  # noqa: E402
from insureflow.bootstrap import build_app  # noqa: E402
from services.demo import load_demo  # noqa: E402

VERIFY_GOAL = 50_000  # events/s
REPLAY_GOAL = 2.0  # replay time / original execution time


class BenchError(Exception):
    """A claim took an unexpected path or a check failed: the figures would mean nothing."""


def build(folder: Path, claims: int) -> tuple[object, list[int], float]:
    """An instance folder with `claims` paid claims; (app, instance ids, seconds the claims took to run)."""
    config = instance_folder.create(folder / "instance", f"sqlite:///{folder / 'audit.db'}")
    app = build_app(config)
    schema.upgrade(app.db)
    load_demo(app.runtime)
    seed_policies(folder / "instance", claims)
    rt = app.runtime
    with rt.uow() as uow:
        actors = {user: actor_for(uow, user) for user in set(STAFF.values())}
    ids, spent = [], 0.0
    for i in range(claims):
        started = time.perf_counter()
        summary = instances.start_instance(rt, "claims", {}, actors["claims.clerk"])
        for step, user in STAFF.items():
            task = next((t for t in summary.open_tasks if t["task"] == step), None)
            if task is None:
                raise BenchError(f"claim {i}: {step} is not open; open: {summary.open_tasks}")
            summary = task_service.complete(rt, task["id"], actors[user], FORMS[step](i))
        spent += time.perf_counter() - started
        if summary.status != "completed":
            raise BenchError(f"claim {i} ended {summary.status}")
        ids.append(summary.id)
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1} claims built ({spent / (i + 1) * 1000:.1f} ms each)", file=sys.stderr)
    return app, ids, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--verify-runs", type=int, default=3, help="best of N whole-database verifications")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"building {args.claims} paid claims through the engine API…", file=sys.stderr)
        app, ids, original = build(folder, args.claims)
        rt = app.runtime

        best, report = float("inf"), None
        for _ in range(args.verify_runs):
            started = time.perf_counter()
            with rt.uow(read_only=True) as uow:
                report = verify_chains(uow.session, keys=rt.audit_keys)  # the keyed chain needs the key ring
            best = min(best, time.perf_counter() - started)
        if not report.ok:
            raise BenchError(f"the fresh database does not verify: {report.breaks[:3]}")
        started = time.perf_counter()
        deployments = verify_deployments(rt, OPERATOR)
        deployments_s = time.perf_counter() - started

        started = time.perf_counter()
        for instance_id in ids:
            result = replay_instance(rt, instance_id, OPERATOR)
            if not result.consistent:
                raise BenchError(str(result))
        replayed = time.perf_counter() - started
        size = sum(p.stat().st_size for p in folder.glob("audit.db*"))
        app.db.dispose()

    rate = report.events / best
    ratio = replayed / original
    print(f"claims: {len(ids)} paid (register → assess → approve), {report.events} events in {report.instances} "
          f"chains (demo cases included), database {size / 1024 / 1024:.1f} MB")
    print(f"original execution:  {original:8.2f} s  {original / len(ids) * 1000:6.2f} ms/claim")
    print(f"chain verification:  {best:8.2f} s  {rate:10.0f} events/s  (goal >= {VERIFY_GOAL}: "
          f"{'met' if rate >= VERIFY_GOAL else 'NOT MET'})")
    print(f"deployment check:    {deployments_s * 1000:8.1f} ms for {deployments.files} files "
          f"({'ok' if deployments.ok else 'PROBLEMS'})")
    print(f"replay of every claim: {replayed:6.2f} s  {replayed / len(ids) * 1000:6.2f} ms/claim, "
          f"{ratio:.2f}x the original (goal <= {REPLAY_GOAL:.1f}x: {'met' if ratio <= REPLAY_GOAL else 'NOT MET'})")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the machine slows "
          "every figure)")


if __name__ == "__main__":
    main()
