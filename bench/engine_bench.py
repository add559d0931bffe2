"""Engine benchmark: InsureFlow (SQLite, human-task rows, history, locking) vs bare SpiffWorkflow
saving and loading its JSON around each human task — measured in the same run.

    python bench/engine_bench.py [--instances N]

The diagram has three human tasks (register → assess → approve), two service tasks, a script task
and a gateway. Prints instances/s and ms per human-task completion for both, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.identity.users import add_user  # noqa: E402
from engine.registry import HandlerContext, HandlerRegistry  # noqa: E402
from engine.workflow import deployments, instances, task_service  # noqa: E402
from engine.workflow.actors import OPERATOR, actor_for  # noqa: E402
from engine.workflow.database import make_engine, make_session_factory  # noqa: E402
from engine.workflow.runtime import Runtime  # noqa: E402
from insureflow import schema  # noqa: E402

DIAGRAMS = Path(__file__).resolve().parent / "diagrams"
FORMS = {
    "register": lambda i: {"amount": 5000 + i % 7, "claimant": f"Claimant {i}"},
    "assess": lambda i: {"assessed_amount": 4000},
    "approve": lambda i: {},
}
PERFORMER = {"register": "clerk", "assess": "adj", "approve": "mgr"}


def check(ctx: HandlerContext, amount: float, claimant: str) -> dict:
    """The benchmark's claim check."""
    return {"deductible": 100, "claimant_ok": bool(claimant)}


def notify(ctx: HandlerContext, claimant: str, amount: float) -> dict:
    """The benchmark's notification."""
    return {"sent": True}


def files() -> dict[str, bytes]:
    return {p.relative_to(DIAGRAMS).as_posix(): p.read_bytes() for p in sorted(DIAGRAMS.rglob("*")) if p.is_file()}


class BareEngine(PythonScriptEngine):
    def call_service(self, task, operation_name, operation_params):
        params = {k: v["value"] for k, v in operation_params.items()}
        result = check(None, **params) if operation_name == "bench_check" else notify(None, **params)
        return json.dumps(result)


def spiff_specs(folder: Path, process_id: str) -> tuple[Any, dict[str, Any]]:
    """A process and its subprocesses as SpiffWorkflow's own parser reads the folder's diagrams and DMN tables
    (InsureFlow's parser adds its own task spec classes, which bare SpiffWorkflow's serializer does not know)."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_files([str(p) for p in sorted(folder.glob("*.bpmn"))])
    parser.add_dmn_files([str(p) for p in sorted(folder.glob("*.dmn"))])
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


def save_load_runs(spec: Any, subprocess_specs: dict[str, Any], engine: PythonScriptEngine, n: int,
                   form_for: Callable[[int, str], dict[str, Any]], start: dict[str, Any] | None = None,
                   ) -> tuple[float, int]:
    """`n` workflows on bare SpiffWorkflow, saved to JSON after every step and loaded before the next (the spec
    embedded, as its serializer does); `form_for(i, task id)` fills each human task of the i-th workflow. The seconds
    they took and the human tasks completed; RuntimeError when a workflow does not finish."""
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    completions = 0
    started = time.perf_counter()
    for i in range(n):
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
        workflow.task_tree.data.update(start or {})
        workflow.do_engine_steps()
        state = serializer.serialize_json(workflow)
        while True:
            workflow = serializer.deserialize_json(state)
            workflow.script_engine = engine
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            task = ready[0]
            task.data.update(form_for(i, task.task_spec.bpmn_id))
            task.run()
            workflow.do_engine_steps()
            completions += 1
            state = serializer.serialize_json(workflow)
        if not workflow.is_completed():
            raise RuntimeError("the bare workflow did not finish: its stand-ins took it another way")
    return time.perf_counter() - started, completions


def bare(n: int) -> tuple[float, int]:
    """Bare SpiffWorkflow: JSON save after every step, load before the next (spec embedded)."""
    spec, subprocess_specs = spiff_specs(DIAGRAMS, "claim_bench")
    return save_load_runs(spec, subprocess_specs, BareEngine(), n, lambda i, task_id: FORMS[task_id](i))


def insureflow(n: int, folder: Path) -> tuple[float, int, int]:
    """InsureFlow's engine API on SQLite: rows, history, locking, spec by reference."""
    db = make_engine(f"sqlite:///{folder / 'bench.db'}")
    schema.upgrade(db)
    registry = HandlerRegistry()
    registry.add("bench_check", check)
    registry.add("bench_notify", notify)
    rt = Runtime(make_session_factory(db), registry)
    with rt.uow() as uow:
        for name, roles in {"clerk": ["claims_clerk"], "adj": ["adjuster"], "mgr": ["claims_manager"]}.items():
            add_user(uow.session, rt.settings, name, roles, None, rt.clock())
        uow.commit()
        actors = {name: actor_for(uow, name) for name in ("clerk", "adj", "mgr")}
    deployments.deploy(rt, files(), OPERATOR)
    completions = 0
    started = time.perf_counter()
    for i in range(n):
        summary = instances.start_instance(rt, "claim_bench", {}, actors["clerk"], f"B-{i}")
        while summary.open_tasks:
            task = summary.open_tasks[0]
            summary = task_service.complete(rt, task["id"], actors[PERFORMER[task["task"]]], FORMS[task["task"]](i))
            completions += 1
        assert summary.status == "completed", summary
    elapsed = time.perf_counter() - started
    db.dispose()
    size = (folder / "bench.db").stat().st_size + sum(
        p.stat().st_size for p in folder.glob("bench.db-*"))
    return elapsed, completions, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    args = parser.parse_args()
    n = args.instances
    bare(min(n, 50))  # warm both paths: imports, caches
    with tempfile.TemporaryDirectory() as warm:
        insureflow(min(n, 20), Path(warm))
    bare_s, bare_done = bare(n)
    with tempfile.TemporaryDirectory() as folder:
        ifw_s, ifw_done, size = insureflow(n, Path(folder))
    print(f"instances: {n}, human tasks each: {bare_done // n}")
    print(f"bare SpiffWorkflow (JSON save/load around each human task): {n / bare_s:8.1f} instances/s  "
          f"{bare_s / n * 1000:6.2f} ms/instance  {bare_s / bare_done * 1000:6.2f} ms/completion")
    print(f"InsureFlow (SQLite, task rows, history, locking):            {n / ifw_s:8.1f} instances/s  "
          f"{ifw_s / n * 1000:6.2f} ms/instance  {ifw_s / ifw_done * 1000:6.2f} ms/completion")
    print(f"database: {size / n / 1024:.1f} KB per instance with history")
    print(f"ratio InsureFlow / bare per instance: {ifw_s / bare_s:.2f}x (goal <= 1.00x)")


if __name__ == "__main__":
    main()
