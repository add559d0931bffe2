"""The scenario table: which diagram, with which start data, driven by which outside actions.

Diagrams live in `diagrams/`; each process id is its file's name. Human tasks in the "Claims clerk" lane
are done by `clerk`, "Adjuster" by `adj`, "Claims manager" by `boss`; tasks outside any lane by the
starter (`clerk`). Times are relative to the start of the case (the clock is pinned there).

Some actions probe on purpose what must no longer be possible — a message nobody waits for, a task that a
boundary event, a terminate end or a completion condition withdrew: both runners must then agree that the
action was refused or found nothing to do.
"""

from __future__ import annotations

from datetime import timedelta

from .model import Advance, Complete, Message, Scenario, Signal, together

HOUR = timedelta(hours=1)


def s(name: str, files: str | tuple[str, ...], start: dict | None = None, *script, xfail: str | None = None,
      process: str | None = None) -> Scenario:
    """A scenario; the process id defaults to the first file's name."""
    files = (files,) if isinstance(files, str) else files
    return Scenario(name, files, process or files[0].removesuffix(".bpmn"), start or {}, tuple(script), xfail)


GATEWAYS = [
    s("exclusive_low", "exclusive_gateway.bpmn", {}, Complete("enter", {"amount": 40})),
    s("exclusive_default", "exclusive_gateway.bpmn", {}, Complete("enter", {"amount": 400})),
    s("exclusive_high", "exclusive_gateway.bpmn", {}, Complete("enter", {"amount": 4000}),
      Complete("approve", {"approved": True})),
    s("exclusive_no_condition_holds", "exclusive_no_match.bpmn", {"kind": "c"}),
    s("inclusive_both_branches", "inclusive_gateway.bpmn",
      {"has_documents": True, "has_photos": True, "doc_ok": None, "photo_ok": None},
      together(Complete("check_documents", {"doc_ok": "yes"}), Complete("check_photos", {"photo_ok": "blurred"}))),
    s("inclusive_one_branch", "inclusive_gateway.bpmn",
      {"has_documents": False, "has_photos": True, "doc_ok": None, "photo_ok": None},
      Complete("check_photos", {"photo_ok": "fine"})),
    s("inclusive_default_branch", "inclusive_gateway.bpmn",
      {"has_documents": False, "has_photos": False, "doc_ok": None, "photo_ok": None}),
    s("parallel_three_branches", "parallel_gateway.bpmn", {},
      together(Complete("collect", {"documents": 3}), Complete("inspect", {"damage": "dent"})),
      Complete("estimate", {"estimate": 1200})),
    s("event_gateway_message_first", "event_based_gateway.bpmn", {},
      Message("reply", {"text": "here you are"}), Advance(timedelta(days=2))),
    s("event_gateway_timer_first", "event_based_gateway.bpmn", {},
      Advance(timedelta(hours=25)), Message("reply", {"text": "too late"}), Complete("chase", {"called": True})),
]

ASSESS = ("call_activity.bpmn", "child_assess.bpmn")

LOOPS = [
    s("standard_loop_of_a_user_task", "loop_user_task.bpmn", {},
      Complete("ask", {"satisfied": False, "answer": "vague"}),
      Complete("ask", {"satisfied": False, "answer": "better"}),
      Complete("ask", {"satisfied": True, "answer": "clear"})),
    s("standard_loop_stops_on_condition", "loop_script_maximum.bpmn", {"balance": 3, "target": 20, "rounds": 0}),
    s("standard_loop_stops_at_maximum", "loop_script_maximum.bpmn", {"balance": 1, "target": 10**6, "rounds": 0}),
    s("sequential_multi_instance_over_a_collection", "mi_sequential_collection.bpmn", {"receipts": [120, 80, 45]},
      Complete("check_receipt", {"allow": 100}, where={"receipt": 120}),
      Complete("check_receipt", {"allow": 80}, where={"receipt": 80}),
      Complete("check_receipt", {"allow": 0}, where={"receipt": 45})),
    s("sequential_multi_instance_over_an_empty_collection", "mi_sequential_collection.bpmn", {"receipts": []}),
    s("parallel_multi_instance_over_a_collection", "mi_parallel_collection.bpmn",
      {"garages": ["north", "south", "east"]},
      together(Complete("rate_garage", {"rating": 4}, where={"garage": "north"}),
               Complete("rate_garage", {"rating": 2}, where={"garage": "south"}),
               Complete("rate_garage", {"rating": 5}, where={"garage": "east"}))),
    s("parallel_multi_instance_by_cardinality", "mi_parallel_cardinality.bpmn", {"experts": 3},
      together(Complete("expert_opinion", {"opinion": 10}, where={"seat": 0}),
               Complete("expert_opinion", {"opinion": 20}, where={"seat": 1}),
               Complete("expert_opinion", {"opinion": 60}, where={"seat": 2}))),
    s("sequential_multi_instance_of_a_script_by_cardinality", "mi_sequential_cardinality_script.bpmn", {"premium": 25}),
    s("parallel_multi_instance_with_a_completion_condition", "mi_completion_condition.bpmn",
      {"voters": ["ann", "bob", "cy"]},
      together(Complete("vote", {"ballot": "yes"}, where={"voter": "ann"}),
               Complete("vote", {"ballot": "veto"}, where={"voter": "bob"})),
      Complete("vote", {"ballot": "yes"}, where={"voter": "cy"})),
    s("parallel_multi_instance_of_a_call_activity", ("mi_call_activity.bpmn", "child_assess.bpmn"),
      {"parts": ["door", "bumper"]},
      together(Complete("assess", {"hours": 2}, where={"part": "door"}),
               Complete("assess", {"hours": 5}, where={"part": "bumper"}))),
    s("sequential_multi_instance_of_a_call_activity", ("mi_sequential_call_activity.bpmn", "child_assess.bpmn"),
      {"rounds": 2}, Complete("assess", {"hours": 1}, where={"round": 0}),
      Complete("assess", {"hours": 3}, where={"round": 1})),
    s("parallel_multi_instance_of_an_embedded_subprocess", "mi_embedded_subprocess.bpmn", {"witnesses": ["kim", "lee"]},
      together(Complete("interview", {"said": "red light"}, where={"witness": "kim"}),
               Complete("interview", {"said": "green light"}, where={"witness": "lee"}))),
]

SUBPROCESSES = [
    s("embedded_subprocess", "embedded_subprocess.bpmn", {"seq": 7},
      Complete("fill_form", {"name": "Wang"}), Complete("confirm", {"confirmed": True})),
    s("call_activity_returns_its_data", ASSESS, {"limit": 500},
      Complete("intake", {"part": "hood"}), Complete("assess", {"hours": 4})),
    s("call_activity_calling_another", ("call_activity_nested.bpmn", "child_nested.bpmn", "child_assess.bpmn"), {},
      Complete("assess", {"hours": 2})),
    s("transaction_completes", "transaction.bpmn", {}, Complete("book_slot", {"garage_agrees": True})),
    s("transaction_cancelled", "transaction.bpmn", {}, Complete("book_slot", {"garage_agrees": False}),
      Complete("release_slot", {})),
]

EVENT_SUBPROCESSES = [
    s("event_subprocess_message_interrupting", "evsub_message_interrupting.bpmn", {},
      Message("withdraw", {"why": "sold the car"}),
      together(Complete("work", {"worked": True}), Complete("confirm", {"confirmed": True}))),
    s("event_subprocess_message_not_triggered", "evsub_message_interrupting.bpmn", {},
      Complete("work", {"worked": True})),
    s("event_subprocess_message_non_interrupting", "evsub_message_noninterrupting.bpmn", {},
      Message("note", {"text": "call back"}),
      together(Complete("work", {"worked": True}), Complete("react", {"read": True}))),
    s("event_subprocess_timer_interrupting", "evsub_timer_interrupting.bpmn", {},
      Advance(3 * HOUR), Complete("work", {"worked": True}), Complete("take_over", {"taken": True})),
    s("event_subprocess_timer_not_due", "evsub_timer_interrupting.bpmn", {}, Advance(HOUR), Complete("work", {})),
    s("event_subprocess_timer_date", "evsub_timer_date.bpmn", {}, Advance(timedelta(days=2)), Complete("work", {})),
    s("event_subprocess_timer_cycle_non_interrupting", "evsub_timer_noninterrupting.bpmn", {},
      Advance(HOUR + timedelta(minutes=1)), Advance(HOUR), Advance(HOUR), Complete("work", {"worked": True})),
    s("event_subprocess_signal_interrupting", "evsub_signal_interrupting.bpmn", {},
      Complete("raise_alarm", {}), Complete("work", {})),
    s("event_subprocess_signal_non_interrupting", "evsub_signal_noninterrupting.bpmn", {},
      Complete("raise_alarm", {}), together(Complete("work", {"worked": True}), Complete("react", {"looked": True}))),
    s("event_subprocess_error", "evsub_error.bpmn", {}, Complete("work", {"valid": False})),
    s("event_subprocess_error_not_thrown", "evsub_error.bpmn", {}, Complete("work", {"valid": True})),
    s("event_subprocess_escalation_non_interrupting", "evsub_escalation_noninterrupting.bpmn", {},
      Complete("work", {}), Complete("finish", {"finished": True})),
    s("event_subprocess_escalation_interrupting", "evsub_escalation_interrupting.bpmn", {},
      Complete("work", {}), together(Complete("finish", {"finished": True}), Complete("confirm", {"confirmed": True}))),
]

BOUNDARY_EVENTS = [
    s("timer_boundary_on_a_task_fires", "boundary_timer_task.bpmn", {}, Advance(2 * HOUR), Complete("respond", {}),
      Complete("handle", {"chased": True})),
    s("timer_boundary_on_a_task_not_due", "boundary_timer_task.bpmn", {}, Advance(HOUR / 2),
      Complete("respond", {"answer": "done"}), Advance(2 * HOUR)),
    s("cycle_timer_boundary_non_interrupting", "boundary_timer_cycle_task.bpmn", {},
      Advance(HOUR + timedelta(minutes=1)), Advance(HOUR), Complete("respond", {"answer": "done"}), Advance(HOUR)),
    s("message_boundary_on_a_task", "boundary_message_task.bpmn", {}, Message("cancel", {"by": "customer"}),
      Complete("respond", {})),
    s("message_boundary_on_a_task_non_interrupting", "boundary_message_task_noninterrupting.bpmn", {},
      Message("question", {"q": "when?"}), Message("question", {"q": "why?"}),
      together(Complete("respond", {"answer": "soon"}),
               Complete("handle", {"answered": "soon"}, where={"question": {"q": "when?"}}))),
    s("message_boundary_on_a_subprocess", "boundary_message_subprocess.bpmn", {}, Message("withdraw", None),
      Complete("step", {})),
    s("message_boundary_on_a_subprocess_non_interrupting", "boundary_message_subprocess_noninterrupting.bpmn", {},
      Message("info", {"detail": "photos"}), together(Complete("step", {"stepped": True}), Complete("handle", {}))),
    s("timer_boundary_on_a_subprocess", "boundary_timer_subprocess.bpmn", {}, Advance(5 * HOUR),
      Complete("handle", {"taken": True})),
    s("timer_boundary_on_a_subprocess_non_interrupting", "boundary_timer_subprocess_noninterrupting.bpmn",
      {"slow_after": "PT2H"}, Advance(3 * HOUR), together(Complete("step", {}), Complete("handle", {"seen": True}))),
    s("signal_boundary_on_a_subprocess", "boundary_signal_subprocess.bpmn", {},
      Complete("assess_loss", {"loss": "total"}), Complete("step", {})),
    s("signal_boundary_not_thrown", "boundary_signal_subprocess.bpmn", {},
      together(Complete("assess_loss", {"loss": "partial"}), Complete("step", {"repaired": True}))),
    s("signal_boundary_on_a_task", "boundary_signal_task.bpmn", {}, Complete("assess_loss", {"loss": "total"})),
    s("signal_boundary_on_a_call_activity_non_interrupting",
      ("boundary_signal_call_activity_noninterrupting.bpmn", "child_assess.bpmn"), {},
      Complete("notice_recall", {"recall": "airbags"}),
      together(Complete("assess", {"hours": 3}), Complete("handle", {"affected": False}))),
    s("signal_boundary_on_a_task_non_interrupting", "boundary_signal_task_noninterrupting.bpmn", {},
      Complete("assess_loss", {"loss": "total"}), Complete("step", {"repaired": True})),
    s("error_boundary_on_a_subprocess", "boundary_error_subprocess.bpmn", {}, Complete("step", {"suspicious": True}),
      Complete("handle", {"fraud": "confirmed"})),
    s("error_boundary_on_a_subprocess_not_thrown", "boundary_error_subprocess.bpmn", {},
      Complete("step", {"suspicious": False})),
    s("escalation_boundary_on_a_subprocess_non_interrupting", "boundary_escalation_subprocess_noninterrupting.bpmn", {},
      Complete("step", {"amount": 90000}), Complete("handle", {"approved": True})),
    s("error_boundary_on_a_call_activity", ("boundary_error_call_activity.bpmn", "child_fails.bpmn"), {},
      Complete("review", {"accepted": False})),
    s("error_boundary_on_a_call_activity_not_thrown", ("boundary_error_call_activity.bpmn", "child_fails.bpmn"), {},
      Complete("review", {"accepted": True})),
    s("escalation_boundary_on_a_call_activity", ("boundary_escalation_call_activity.bpmn", "child_escalates.bpmn"), {},
      Complete("inspect", {"damage": 25000}), Complete("handle", {"decision": "pay"})),
    s("escalation_boundary_on_a_call_activity_non_interrupting",
      ("boundary_escalation_call_activity_noninterrupting.bpmn", "child_escalates_midway.bpmn"), {},
      Complete("survey", {"damage": 30000}),
      together(Complete("write_report", {"report": "written"}), Complete("handle", {"reserve": 30000}))),
    s("timer_boundary_on_a_call_activity", ("boundary_timer_call_activity.bpmn", "child_assess.bpmn"), {},
      Advance(timedelta(days=1, hours=1)), Complete("assess", {"hours": 1})),
    s("message_boundary_on_a_call_activity_non_interrupting",
      ("boundary_message_call_activity_noninterrupting.bpmn", "child_assess.bpmn"), {},
      Message("update", {"note": "new photos"}), together(Complete("assess", {"hours": 2}), Complete("handle", {}))),
]

TIMERS_MESSAGES_SIGNALS = [
    s("timer_by_date", "timer_date.bpmn", {"follow_up_at": "2026-11-04T10:00:00+00:00"},
      Advance(timedelta(days=1)), Advance(timedelta(days=1, hours=2)), Complete("follow_up", {"reached": True})),
    s("timer_by_duration", "timer_duration.bpmn", {}, Advance(timedelta(minutes=20)), Advance(timedelta(minutes=20))),
    s("timer_start_event", "timer_start.bpmn", {}, Advance(2 * HOUR), Complete("work", {})),
    s("message_start_event", "message_start.bpmn", {}, Message("claim_filed", {"number": "C-1"}),
      Complete("review", {"ok": True})),
    s("intermediate_message", "message_intermediate.bpmn", {}, Message("documents", {"files": ["too early"]}),
      Complete("request", {}), Message("other", None), Message("documents", {"files": ["invoice", "photo"]}),
      Complete("check", {"complete": True})),
    s("receive_task", "receive_task.bpmn", {}, Message("signed", {"by": "Li"})),
    s("signal_thrown_and_caught_inside_the_case", "signal_internal.bpmn", {"amount": 300}, Complete("approve", {})),
    s("signal_sent_from_outside", "signal_external.bpmn", {}, Signal("resume")),
    s("uncaught_error_end", "error_end.bpmn", {}, Complete("screen", {"fit": False})),
    s("uncaught_escalation_end", "escalation_end.bpmn", {"premium": 9000}),
    s("terminate_end_ends_every_branch", "terminate_end.bpmn", {}, Complete("judge", {"refuse": True}),
      Complete("gather", {})),
]

TASKS = [
    s("script_manual_plain_and_user_tasks", "task_kinds.bpmn", {"customer": "Zhang"}, Complete("post_letter", {}),
      Complete("phone_customer", {"reached": True}), Complete("record_call", {"outcome": "agreed"})),
    s("business_rule_tasks_high_risk", ("business_rule.bpmn", "conformance_risk.dmn", "conformance_checks.dmn"), {},
      Complete("describe", {"amount": 8000, "kind": "theft"}), Complete("inspect", {"seen": True})),
    s("business_rule_tasks_low_risk", ("business_rule.bpmn", "conformance_risk.dmn", "conformance_checks.dmn"), {},
      Complete("describe", {"amount": 3000, "kind": "glass"})),
]

SCENARIOS: list[Scenario] = [*GATEWAYS, *LOOPS, *SUBPROCESSES, *EVENT_SUBPROCESSES, *BOUNDARY_EVENTS,
                             *TIMERS_MESSAGES_SIGNALS, *TASKS]


def named(name: str) -> Scenario:
    """The scenario of that name."""
    return next(sc for sc in SCENARIOS if sc.name == name)
