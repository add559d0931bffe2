"""The audit report of a case, shared by the audit page, the API and the exports: its steps over the deployed
diagram, every event with its hash and details, the chain check and the replay — masked by role in this one
place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.audit import case_audit, replay, verify_case
from engine.workflow import Actor, Runtime, instances, jsonutil
from engine.workflow import describe as describe_decision
from services.case_page import case_page

from .case_text import EVENT_LABELS, Labels, data_rows, localtime
from .cases import case_view
from .masking import mask

AUDIT_EVENT_LABELS = {**EVENT_LABELS, "data_unmasked": _l("Personal data revealed")}
CHAIN_REASONS = (  # the engine's reasons for a broken chain, in words (by how they begin)
    ("content altered", _l("its content was changed after it was recorded")),
    ("does not link", _l("it does not link to the event before it: events were inserted, deleted or reordered")),
    ("expected event", _l("events are missing or out of order here")),
    ("chain ends", _l("events were removed from the end of the history")),
    ("all ", _l("all of the case's events are missing")),
    ("forged:", _l("it carries no audit-key seal where one is required: the event was forged in the database")),
    ("chained with audit key", _l("it was sealed with an audit key that is not in the key ring: restore the key "
                                  "ring from its backup")),
    # the stored states, the money rows and the signed checkpoint
    # (engine/audit/seal_checks.py, engine/workflow/checkpoints.py)
    ("the stored state is not the one", _l("its stored state is not the one its last event recorded: it was "
                                           "altered or replaced")),
    ("the stored state cannot be read", _l("its stored state cannot be read: it was altered or damaged")),
    ("edited after it was recorded", _l("it was edited after the step that wrote it recorded it")),
    ("not recorded by any step", _l("no step of any case wrote it: it was added outside the process")),
    ("deleted:", _l("it was deleted after a step recorded it")),
    ("sealed with audit key", _l("it was sealed with an audit key that is not in the key ring")),
    ("its signature does not verify", _l("its signature does not verify: the file was altered, or it was not "
                                         "written by this installation")),
    ("the file cannot be read", _l("the file cannot be read as a signed checkpoint")),
    ("there is no public key", _l("there is no public key to check its signature with")),
    ("its history now ends", _l("events the checkpoint recorded were removed")),
    ("this event no longer has the hash", _l("the history up to the checkpointed event was rewritten")),
    ("the case is gone", _l("the case is gone")),
)
DETAIL_TEXT = 160


def _short(value: Any, labels: Labels, key: str = "") -> str:
    if isinstance(value, dict):
        text = ", ".join(f"{labels.field(k)}: {_short(v, labels, k)}" for k, v in value.items())
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        text = jsonutil.dumps(value)
    else:
        text = labels.value(key, value)
    return text if len(text) <= DETAIL_TEXT else text[:DETAIL_TEXT - 1] + "…"


def event_details(event: dict[str, Any], labels: Labels, clear: bool) -> list[tuple[str, str]]:
    """What one event changed or did, readable and masked: before → after of a submission, a handler's
    inputs and outputs, a message's content, why data was revealed."""
    payload, kind = event.get("payload") or {}, event["type"]
    if kind == "task_completed":
        submitted, before = payload.get("data") or {}, payload.get("before") or {}
        shown, earlier = mask(submitted, clear), mask(before, clear)
        return [(labels.field(k), f"{_short(earlier[k], labels, k)} → {_short(v, labels, k)}" if k in earlier
                 else _short(v, labels, k)) for k, v in shown.items()]
    if kind == "handler_executed":
        return [(_("operation"), str(payload.get("operator", ""))),
                (_("inputs"), _short(mask(payload.get("params") or {}, clear), labels)),
                (_("outputs"), _short(mask(payload.get("result"), clear), labels))]
    if kind == "decision_evaluated":
        return [(_("decision"), describe_decision(labels.decision(payload))),
                (_("inputs"), _short(mask(payload.get("inputs") or {}, clear), labels)),
                (_("hit policy"), str(payload.get("hit_policy", "")))]
    if kind == "effect_intended":  # committed before the bank is called
        return [(_("operation"), str(payload.get("operator", ""))),
                (_("inputs"), _short(mask(payload.get("params") or {}, clear), labels)),
                (_("payment key"), str((payload.get("result") or {}).get("key", "")))]
    if kind == "effect_settled":
        outcome = payload.get("outcome") or {}
        answer = _("accepted") if outcome.get("accepted") else _("declined")
        if outcome.get("reconciled"):
            answer = _("%(answer)s (read back from the bank: it already held this payment)", answer=answer)
        return [(_("operation"), str(payload.get("operator", ""))), (_("bank's answer"), answer),
                (_("outputs"), _short(mask(payload.get("result"), clear), labels))]
    if kind in ("message_delivered", "message_sent"):
        return [(_("message"), str(payload.get("name", ""))),
                (_("content"), _short(mask(payload.get("payload") or {}, clear), labels))]
    if kind == "data_unmasked":
        return [(_("fields"), ", ".join(payload.get("fields") or []) or "—"), (_("reason"), payload.get("reason", ""))]
    if kind == "task_assigned":
        return [(_("to"), str(payload.get("to", "")))]
    if kind.startswith("incident"):
        return [(_("error"), str(payload.get("error", ""))[:DETAIL_TEXT])]
    return []


@dataclass
class AuditLine:
    """One event of the audit timeline."""

    seq: int
    type: str
    at: str
    who: str
    what: str
    task: str
    details: list[tuple[str, str]]
    hash: str


@dataclass
class StepView:
    """One position of the step slider."""

    number: int
    seqs: str
    at: str
    who: str
    what: str
    task: str
    path: list[str]
    active: list[str]
    data: dict[str, Any]
    rows: list[Any] = field(default_factory=list)
    deployment_id: int = 0  # the deployment whose diagram this step ran on


@dataclass
class AuditView:
    """Everything the audit page, the report and the exports show about a case (masked by role)."""

    case: Any
    steps: list[StepView]
    lines: list[AuditLine]
    events: list[dict[str, Any]]
    deployment_id: int
    deployment_hash: str
    problem: str | None
    problem_seq: int | None


def build_audit(rt: Runtime, actor: Actor, instance_id: int, lang: str) -> AuditView:
    """A case as the auditor sees it; the engine checks the actor may audit it."""
    walked = case_audit.case_steps(rt, actor, instance_id)
    case = case_view(case_page(rt, actor, instance_id), actor, lang)
    labels, clear = case.labels, case.clear
    events = [{**e, "payload": mask(rt.reveal(e["type"], e["payload"]), clear)}
              for e in instances.instance_history(rt, instance_id, actor)]
    lines = [AuditLine(e["seq"], e["type"], localtime(e["at"]), e["actor"] or _("System"),
                       str(AUDIT_EVENT_LABELS.get(e["type"], e["type"])),
                       labels.tasks.get(e["task"] or "", e["task"] or ""), event_details(e, labels, clear), e["hash"])
             for e in events]
    steps = []
    for s in walked.steps:
        shown = mask(s.data, clear)
        what = ", ".join(dict.fromkeys(str(AUDIT_EVENT_LABELS.get(t, t)) for t in s.events
                                       if t not in ("handler_executed",)))
        steps.append(StepView(s.number, f"#{s.first_seq}–#{s.last_seq}", localtime(s.at), s.actor or _("System"),
                              what, labels.tasks.get(s.task or "", s.task or ""), s.path, s.active, shown,
                              data_rows(shown, labels), s.deployment_id))
    return AuditView(case, steps, lines, events, walked.deployment_id, walked.deployment_hash, walked.problem,
                     walked.problem_seq)


def chain_words(reason: str) -> str:
    """An engine's integrity finding (a chain break, a damaged state, an edited money row, a signed checkpoint's
    problem) in the user's language."""
    return next((str(words) for start, words in CHAIN_REASONS if reason.startswith(start)), reason)


def report_data(rt: Runtime, actor: Actor, instance_id: int, lang: str) -> dict[str, Any]:
    """The audit report of a case as JSON-ready data: summary, steps, every event with its hash, the chain
    check and the replay, who generated it and when (personal data masked for the actor's roles)."""
    view = build_audit(rt, actor, instance_id, lang)
    chain, deployment_problems = verify_case(rt, actor, instance_id)
    replayed = replay.replay_instance(rt, instance_id, actor)
    case = view.case
    return {
        "generated_at": rt.clock().isoformat(), "generated_by": actor.username,
        "case": {"id": case.id, "process": case.process_key, "business_key": case.business_key,
                 "status": case.status, "started_by": case.started_by, "started_at": case.started_at.isoformat(),
                 "ended_at": case.ended_at.isoformat() if case.ended_at else None,
                 "deployment_id": view.deployment_id, "deployment_hash": view.deployment_hash,
                 "diagram": case.diagram_file},
        "steps": [{k: v for k, v in asdict(s).items() if k != "rows"} for s in view.steps],
        "events": view.events,
        "verification": {"ok": chain.ok and not deployment_problems, "events": chain.events,
                         "head": {"seq": view.events[-1]["seq"] if view.events else 0,
                                  "hash": chain.heads.get(instance_id, "")},
                         "breaks": [{"seq": b.seq, "reason": b.reason, "words": chain_words(b.reason)}
                                    for b in chain.breaks],
                         "deployment_problems": [{"file": p.file, "reason": p.reason} for p in deployment_problems]},
        "replay": {"consistent": replayed.consistent, "steps": replayed.steps, "seq": replayed.seq,
                   "event": replayed.event, "reason": replayed.reason, "text": str(replayed)},
        "lines": [asdict(line) for line in view.lines],
        "summary": {"process": case.process, "status": case.status_label},
    }
