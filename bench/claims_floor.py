"""The floor of issue 16: bare SpiffWorkflow on the claims diagram itself (bpmn/claims.bpmn), saving and loading its
state around each human task, its service tasks answered by trivial stand-ins.

    python bench/claims_floor.py --instance FOLDER [--claims N]   (FOLDER: an instance with one finished claim)

The stand-ins are the answers one real claim got: `recorded_claim` reads a finished claims case's history (the
start data, each handler's result — the payout's settled one — and each human task's submitted form) through the
instance's own runtime, which reveals the encrypted personal fields. `bare_claims` then drives `n` claims on
SpiffWorkflow alone: its own PythonScriptEngine (no sandbox), each service task answered at once from that record
(no database, no handler), JSON save after every step and load before the next, spec embedded — as
`engine_bench.bare` does on its small diagram. Business rule tasks evaluate the real DMN tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from engine_bench import save_load_runs, spiff_specs  # noqa: E402  (bench/ is on sys.path when this file runs as a script)

from engine.workflow.jsonutil import canonical_dumps, loads  # noqa: E402
from engine.workflow.models import EventModel, InstanceModel  # noqa: E402
from insureflow import bootstrap, instance_folder  # noqa: E402

BPMN = ROOT / "bpmn"
_ANSWERS = {"handler_executed", "effect_settled"}  # a handler's result; the payout's outcome once settled


@dataclass
class RecordedClaim:
    """What one real claim was given and answered: start data, handler results by task, forms by task."""

    start: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)  # service task → its result as JSON text
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)  # human task → the submitted data


def _plain(value: Any) -> Any:
    """JSON values SpiffWorkflow's own serializer takes (decimals become floats: a stand-in, not money)."""
    return json.loads(canonical_dumps(value))


def recorded_claim(folder: Path, instance_id: int) -> RecordedClaim:
    """The record of a finished claims case of the instance in `folder`."""
    app = bootstrap.build_app(instance_folder.load(folder))
    rt, record = app.runtime, RecordedClaim()
    try:
        with rt.uow(read_only=True) as uow:
            events = list(uow.session.scalars(select(EventModel).where(EventModel.instance_id == instance_id)
                                              .order_by(EventModel.seq)))
            for event in events:
                payload = rt.reveal(event.type, loads(event.payload))
                if event.type == "instance_started":
                    record.start = _plain(payload.get("data") or {})
                elif event.type in _ANSWERS:
                    record.answers[event.task_key] = json.dumps(_plain(payload["result"]))
                elif event.type == "task_completed":
                    record.forms[event.task_key] = _plain(payload.get("data") or {})
    finally:
        app.db.dispose()
    if not record.forms or "instance_completed" not in {e.type for e in events}:
        raise RuntimeError(f"case {instance_id} is not a finished claim")
    return record


def first_finished_claim(folder: Path) -> int:
    """The id of the first claims case of the instance that reached its end."""
    app = bootstrap.build_app(instance_folder.load(folder))
    try:
        with app.runtime.uow(read_only=True) as uow:
            found = uow.session.scalar(select(func.min(InstanceModel.id)).where(
                InstanceModel.process_key == "claims", InstanceModel.status == "completed"))
    finally:
        app.db.dispose()
    if found is None:
        raise RuntimeError(f"{folder} holds no finished claim")
    return found


class StandInEngine(PythonScriptEngine):
    """SpiffWorkflow's own script engine; a service task gets the recorded answer of its step at once."""

    def __init__(self, answers: dict[str, str]):
        super().__init__()
        self.answers = answers

    def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any]) -> str:
        return self.answers[task.task_spec.bpmn_id]


def bare_claims(record: RecordedClaim, n: int) -> tuple[float, int]:
    """`n` claims on bare SpiffWorkflow; the seconds they took and the human tasks completed."""
    spec, subprocess_specs = spiff_specs(BPMN, "claims")
    return save_load_runs(spec, subprocess_specs, StandInEngine(record.answers), n,
                          lambda _i, task_id: record.forms[task_id], record.start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", type=Path, required=True)
    parser.add_argument("--case", type=int, default=None, help="a finished claims case (default: the first one)")
    parser.add_argument("--claims", type=int, default=200)
    args = parser.parse_args()
    case = args.case if args.case is not None else first_finished_claim(args.instance)
    record = recorded_claim(args.instance, case)
    bare_claims(record, min(args.claims, 20))
    seconds, done = bare_claims(record, args.claims)
    print(f"bare SpiffWorkflow on claims.bpmn: {seconds / args.claims * 1000:.2f} ms a claim "
          f"({done // args.claims} human tasks each)")


if __name__ == "__main__":
    main()
