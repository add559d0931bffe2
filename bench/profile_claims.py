"""Profile of the claims path in one process (Flask's test client, SQLite): where a claim's time and SQL go.

    python bench/profile_claims.py [--claims 100] [--top 25]

Drives http_bench's claims (start, then register → assess → approve, each found in the performer's inbox and
completed: 7 requests) through `insureflow.wsgi.create` on a fresh demo instance, after a few warm-up claims.
Three passes over the same kind of claims, each on its own claims:
0. nothing wrapped: the plain time a claim in this process (no HTTP, no gunicorn), to compare pass 1 with;
1. wall time per phase: perf_counter timers around the engine's and the domain's functions (inclusive times,
   nested phases overlap), and the SQL statements per claim by kind and table;
2. cProfile over every request of the claims (it roughly doubles the time of SQLAlchemy-heavy code, so read
   its shares, not its milliseconds): the top entries by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import re
import sys
import sysconfig
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from http_bench import STAFF, BenchError, Client, insureflow_cli, seed_policies  # noqa: E402
from sqlalchemy import event  # noqa: E402

from insureflow.wsgi import create  # noqa: E402

# (module, attribute, label): the phases timed in pass 1. A function imported by name into other modules is
# wrapped there too (see `wrap`), so every call of it is timed once.
PHASES = [
    ("engine.workflow.task_service", "complete", "task_service.complete (whole submit)"),
    ("engine.workflow.instances", "start_instance", "instances.start_instance (whole start)"),
    ("engine.workflow.task_service", "inbox", "task_service.inbox"),
    ("engine.workflow.execution", "load", "execution.load (row lock, spec, cache or state)"),
    ("engine.workflow.execution", "read_state", "  execution.read_state (unseal + deserialize)"),
    ("engine.workflow.execution", "run_steps", "execution.run_steps (SpiffWorkflow steps + handlers)"),
    ("engine.workflow.script_engine", "SandboxedScriptEngine.call_service",
     "  call_service (handlers, savepoint each)"),
    ("engine.workflow.sandbox.environment", "RestrictedEnvironment.evaluate",
     "  sandbox evaluate (conditions, DMN cells)"),
    ("engine.workflow.sandbox.environment", "RestrictedEnvironment.execute", "  sandbox execute (script tasks)"),
    ("engine.workflow.execution", "persist", "execution.persist (state, rows, history)"),
    ("engine.workflow.serialization", "WorkflowStateSerializer.dumps", "  serializer.dumps (state to compressed JSON)"),
    ("engine.workflow.history", "append_many", "  history.append_many (hash chain, events)"),
    ("engine.workflow.execution", "fingerprint", "  execution.fingerprint (state hash for replay)"),
    ("tasks.crypto", "PersonalDataCipher.seal", "  cipher.seal (state encryption)"),
    ("tasks.crypto", "PersonalDataCipher.unseal", "  cipher.unseal"),
    ("tasks.crypto", "PersonalDataCipher.protect", "  cipher.protect (personal fields in events)"),
    ("engine.workflow.forms", "check_submission", "forms.check_submission (schema + field checkers)"),
    ("engine.workflow.unit_of_work", "UnitOfWork.commit", "UnitOfWork.commit (COMMIT, then after-commit work)"),
    ("engine.workflow.effects", "make_call", "  effects.make_call (the payout, after the commit)"),
    ("tasks.gateway_ledger", "LedgerGateway.status", "    gateway.status (simulated bank: asked first)"),
    ("tasks.gateway_ledger", "LedgerGateway.pay", "    gateway.pay (simulated bank: books the payment)"),
    ("engine.workflow.access", "check_read", "access.check_read (need to know)"),
]


def wrap(module_name: str, attribute: str, label: str, totals: dict[str, float], calls: Counter,
         undo: list[tuple[Any, str, Any]]) -> None:
    """Time every call of module.attribute (a function, or Class.method) into totals[label] (the outermost call
    only, when it recurses: a commit inside an after-commit callback); `undo` gets what to put back."""
    module = sys.modules[module_name]
    owner: Any = module
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)
    depth = [0]

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        depth[0] += 1
        try:
            return original(*args, **kwargs)
        finally:
            depth[0] -= 1
            if not depth[0]:
                totals[label] += time.perf_counter() - started
            calls[label] += 1

    owners = [owner]
    if not path:  # `from .execution import load` elsewhere: wrap those names too
        owners += [other for other in list(sys.modules.values()) if other is not owner and getattr(
            other, "__name__", "").startswith(("engine", "tasks", "webui", "insureflow"))
            and getattr(other, name, None) is original]
    for each in owners:
        setattr(each, name, timed)
        undo.append((each, name, original))


TABLE = re.compile(r"^\s*(?:SELECT\b.*?\bFROM|INSERT INTO|UPDATE|DELETE FROM)\s+\"?(\w+)", re.S | re.I)


class Driver:
    """Claims through the test client, as http_bench's clients drive them over HTTP."""

    def __init__(self, folder: Path, tokens: dict[str, str]):
        self.app = create(str(folder))
        self.client = self.app.test_client()
        self.tokens = tokens
        self.request_seconds: dict[str, float] = defaultdict(float)

    def call(self, kind: str, method: str, path: str, user: str, body: dict | None = None) -> dict:
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        answer = self.client.open(path, method=method, json=body, headers=headers)
        self.request_seconds[kind] += time.perf_counter() - started
        if answer.status_code >= 300:
            raise BenchError(f"{method} {path} as {user}: {answer.status_code} {answer.data[:500]!r}")
        return answer.get_json()

    claim = Client.claim  # the same walk as http_bench's clients: start, then each task from the inbox


def timed_pass(driver: Driver, first: int, n: int) -> None:
    """Pass 1: phase timers and the SQL statements by kind and table."""
    totals: dict[str, float] = defaultdict(float)
    calls: Counter = Counter()
    undo: list[tuple[Any, str, Any]] = []
    for module, attribute, label in PHASES:
        wrap(module, attribute, label, totals, calls, undo)
    statements: Counter = Counter()
    by_request: dict[str, Counter] = defaultdict(Counter)
    by_operator: dict[str, Counter] = defaultdict(Counter)  # SQL inside each handler
    operator_seconds: dict[str, float] = defaultdict(float)
    current, operator = ["start"], [None]

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        verb = sql.lstrip().split(None, 1)[0].upper()
        table = TABLE.match(sql)
        kind = f"{verb} {table.group(1)}" if table else verb
        statements[kind] += 1
        by_request[current[0]][kind] += 1
        if operator[0]:
            by_operator[operator[0]][kind] += 1

    engine_class = sys.modules["engine.workflow.script_engine"].SandboxedScriptEngine
    call_service = engine_class.call_service

    def timed_call_service(self: Any, task: Any, operation_name: str, operation_params: Any) -> Any:
        started, operator[0] = time.perf_counter(), operation_name
        try:
            return call_service(self, task, operation_name=operation_name, operation_params=operation_params)
        finally:
            operator[0] = None
            operator_seconds[operation_name] += time.perf_counter() - started

    engine_class.call_service = timed_call_service
    undo.insert(0, (engine_class, "call_service", call_service))

    engine = driver.app.extensions["insureflow"].db
    event.listen(engine, "before_cursor_execute", count)
    original_call = driver.call

    def call(kind: str, *args: Any, **kwargs: Any) -> dict:
        current[0] = kind
        return original_call(kind, *args, **kwargs)

    driver.call = call  # type: ignore[method-assign]
    driver.request_seconds.clear()
    started = time.perf_counter()
    for i in range(first, first + n):
        driver.claim(i)
    elapsed = time.perf_counter() - started
    event.remove(engine, "before_cursor_execute", count)
    driver.call = original_call  # type: ignore[method-assign]
    for owner, name, original in reversed(undo):
        setattr(owner, name, original)
    print(f"\n== pass 1: {n} claims, {elapsed / n * 1000:.1f} ms a claim with the timers on")
    print("requests (ms a claim): " + ", ".join(f"{k} {v / n * 1000:.1f}" for k, v in driver.request_seconds.items()))
    print(f"{'phase (inclusive; indented = inside the one above)':<58} {'ms/claim':>9} {'share':>6} "
          f"{'calls/claim':>12}")
    for _module, _attribute, label in PHASES:
        if calls[label]:
            print(f"{label:<58} {totals[label] / n * 1000:9.2f} {totals[label] / elapsed:6.0%} "
                  f"{calls[label] / n:12.1f}")
    print("\nhandlers (call_service by operator, savepoint included): ms a claim, SQL statements a claim")
    for name, seconds in sorted(operator_seconds.items(), key=lambda item: -item[1]):
        print(f"  {seconds / n * 1000:6.2f} ms  {sum(by_operator[name].values()) / n:5.1f} SQL  {name}: "
              + ", ".join(f"{k} {v / n:g}" for k, v in by_operator[name].most_common(6)))
    total = sum(statements.values())
    print(f"\nSQL statements a claim: {total / n:.1f} — by request: "
          + ", ".join(f"{k} {sum(v.values()) / n:.1f}" for k, v in by_request.items()))
    for kind, count_ in statements.most_common(30):
        print(f"  {count_ / n:6.2f}  {kind}")
    for request, kinds in by_request.items():
        print(f"  {request}, a claim: " + ", ".join(f"{k} {v / n:g}" for k, v in kinds.most_common()))


def profiled_pass(driver: Driver, first: int, n: int, top: int) -> None:
    """Pass 2: cProfile over whole claims; the top entries by cumulative and by own time."""
    profile = cProfile.Profile()
    profile.enable()
    for i in range(first, first + n):
        driver.claim(i)
    profile.disable()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats(order).print_stats(top)
        text = out.getvalue().replace(str(ROOT) + "/", "").replace(sysconfig.get_paths()["purelib"] + "/", "")
        body = text[text.index("   ncalls"):]
        print(f"\n== pass 2: cProfile, {n} claims, top {top} by {order}\n{body.rstrip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100, help="claims per pass")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    n, warm = args.claims, 10
    with tempfile.TemporaryDirectory(prefix="insureflow-profile-") as tmp:
        folder = Path(tmp) / "instance"
        insureflow_cli(folder, "init", "--demo")
        seed_policies(folder, warm + 3 * n)
        tokens = {user: insureflow_cli(folder, "tokens", "create", user)["token"] for user in STAFF.values()}
        driver = Driver(folder, tokens)
        for i in range(warm):
            driver.claim(i)
        started = time.perf_counter()
        for i in range(warm, warm + n):
            driver.claim(i)
        print(f"== pass 0: nothing wrapped, {(time.perf_counter() - started) / n * 1000:.1f} ms a claim in one process "
              "(no HTTP, no gunicorn)")
        timed_pass(driver, warm + n, n)
        profiled_pass(driver, warm + 2 * n, n, args.top)


if __name__ == "__main__":
    main()
