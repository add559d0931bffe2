"""What auditors use: an instance's history (JSON or CSV), deterministic replay, the hash-chain check."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Response

from engine import instances, replay
from engine.history import verify_chains
from engine.identity import require
from engine.replay import ReplayResult

from ..context import runtime
from ..masking import mask
from .common import actor, blueprint, page
from .schemas import EventPageSchema, HistoryArgsSchema, ReplaySchema, VerifySchema

bp = blueprint("audit", __name__, "History, replay and the tamper check (auditors).")

CSV_COLUMNS = ("seq", "at", "type", "actor", "task", "payload", "hash")


@bp.get("/instances/<int:instance_id>/history")
@bp.arguments(HistoryArgsSchema, location="query")
@bp.response(200, EventPageSchema)
@bp.doc(responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def history(args: dict[str, Any], instance_id: int) -> Any:
    """The event log of one instance, personal fields masked by role; `?format=csv` gives every event as CSV."""
    caller = actor()
    rt = runtime()
    # History payloads are stored with personal fields encrypted: revealed here, then masked as the role needs.
    events = [{**e, "payload": mask(rt.reveal(e["type"], e["payload"]), caller.roles)}
              for e in instances.instance_history(rt, instance_id, caller)]
    if args["format"] == "csv":
        return _csv(instance_id, events)
    start = (args["page"] - 1) * args["page_size"]
    return page(events[start:start + args["page_size"]], len(events), args)


def _csv(instance_id: int, events: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        payload = json.dumps(event["payload"], ensure_ascii=False, sort_keys=True)
        writer.writerow([event["seq"], event["at"], event["type"], event["actor"] or "", event["task"] or "",
                         payload, event["hash"]])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=f"instance-{instance_id}-history.csv")
    return response


@bp.post("/instances/<int:instance_id>/replay")
@bp.response(200, ReplaySchema)
def replay_instance(instance_id: int) -> ReplayResult:
    """Re-run the instance from its recorded inputs; consistent, or the first divergent step (auditors, admins)."""
    return replay.replay_instance(runtime(), instance_id, actor())


@bp.get("/audit/verify")
@bp.response(200, VerifySchema)
def verify() -> dict[str, Any]:
    """Recompute every instance's hash chain and name the first broken event of each (auditors, admins)."""
    # verify_chains reads the database only; who may run it is the replayers' right, checked by the engine's require.
    require(actor(), replay.REPLAYERS, "verify the history")
    with runtime().uow() as uow:
        report = verify_chains(uow.session)
    return {"ok": report.ok, "instances": report.instances, "events": report.events, "breaks": report.breaks}
