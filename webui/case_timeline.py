"""A case's timeline in sentences: who did what at which step ("Li Ming (Claims clerk) completed “Register
claim”"), what the system did ("The bank confirmed payment SIM-… of ¥29,000.00"), what each rule table decided
and why, with the values that go with it — masked by role like the case data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from engine.workflow import ParsedDeployment, lane_role

from .auth import role_label
from .case_sections import CLAIM_STATUS, FINDINGS, HANDLER_VALUES, PAYMENT_STATUS, Shown
from .case_text import EVENT_LABELS, HistoryLine, Labels, localtime, masked

DETAIL_ITEMS = 12  # values listed under one line; the audit view lists all
RULE_INLINE = 80  # a rule's annotation up to this long is quoted in the sentence; a longer one below it


def task_roles(parsed: ParsedDeployment, process_key: str) -> dict[str, str]:
    """Each task of the process (its called processes' too) → the role of its lane."""
    process = parsed.processes.get(process_key)
    roles: dict[str, str] = {}
    for spec in [process.spec, *process.subprocess_specs.values()] if process else []:
        for key, task_spec in spec.task_specs.items():
            role = lane_role(getattr(task_spec, "lane", None))
            if role:
                roles.setdefault(key, role)
    return roles


class _Reader:
    """Turns one case's events into sentences (the labels, people and roles of that case)."""

    def __init__(self, labels: Labels, process_key: str, people: Mapping[str, str], roles: Mapping[str, str]):
        self.labels, self.people, self.roles = labels, people, roles
        self.shown: dict[str, Shown] = {path.rsplit(".", 1)[-1]: s for path, s in
                                        HANDLER_VALUES.get(process_key, {}).items()}

    def person(self, username: str | None, task: str | None) -> str:
        """'Li Ming (Claims clerk)': the display name and the role the step belongs to."""
        name = self.people.get(username or "") or username or _("someone")
        role = self.roles.get(task or "")
        return _("%(name)s (%(role)s)", name=name, role=role_label(role)) if role else name

    def step(self, task: str | None) -> str:
        return self.labels.tasks.get(task or "", task or "")

    def field(self, key: str) -> str:
        return str(self.shown[key].label) if key in self.shown and key not in self.labels.fields \
            else self.labels.field(key)

    def value(self, key: str, value: Any) -> str:
        words = self.shown[key].words if key in self.shown else None
        if words and isinstance(value, str) and value in words:
            return str(words[value])
        if words and isinstance(value, list):
            return ", ".join(str(words.get(v, v)) if isinstance(v, str) else self.labels.value(key, v) for v in value)
        if isinstance(value, dict):
            return "; ".join(f"{self.field(k)}: {self.value(k, v)}" for k, v in value.items())
        return self.labels.value(key, value)

    def items(self, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [(self.field(k), self.value(k, v)) for k, v in list(values.items())[:DETAIL_ITEMS]]

    def money(self, amount: Any) -> str:
        return self.labels.value("amount", amount)


def _handler(r: _Reader, step: str, payload: Mapping[str, Any]) -> str:
    """What a handler did, for the operators staff meet on every case; any other one by its step's name."""
    op, result, params = payload.get("operator"), payload.get("result") or {}, payload.get("params") or {}
    result = result if isinstance(result, dict) else {}
    if op == "open_claim" and result.get("claim_number"):
        return _("The system opened claim %(number)s", number=result["claim_number"])
    if op == "verify_claim":
        if result.get("verified"):
            return _("The system verified the claim: every check passed")
        findings = ", ".join(str(FINDINGS.get(f, f)) for f in result.get("reasons") or [])
        return _("The system verified the claim: %(findings)s", findings=findings or "—")
    if op == "suggest_payout" and "suggested_amount" in result:
        return _("The system suggested paying %(amount)s", amount=r.money(result["suggested_amount"]))
    if op == "schedule_survey" and result.get("starts_at"):
        return _("The system booked a survey by %(surveyor)s at %(when)s",
                 surveyor=r.people.get(result.get("surveyor") or "") or result.get("surveyor") or "—",
                 when=r.labels.value("starts_at", result["starts_at"]))
    if op in ("update_claim_status", "close_claim") and result.get("status"):
        status = result["status"]
        return _("The system set the claim's status to “%(status)s”", status=str(CLAIM_STATUS.get(status, status)))
    if op == "terminate_liability":
        if result.get("policy_terminated"):
            return _("The system ended the policy's cover")
        return _("The system reduced the sum insured left to %(amount)s",
                 amount=r.money(result.get("remaining_sum_insured")))
    if op == "issue_policy" and result.get("policy_number"):
        return _("The system issued policy %(number)s", number=result["policy_number"])
    if op in ("collect_premium", "settle_premium") and result.get("status"):
        status = result["status"]
        return _("The system recorded the premium: %(status)s", status=str(PAYMENT_STATUS.get(status, status)))
    if op == "notify_customer":
        return _("The system sent the customer a notice (“%(step)s”)", step=step)
    if op in ("pay_claim", "pay_refund") and params.get("amount") is not None:
        status = str(result.get("status") or "")
        return _("The system recorded the payment of %(amount)s: %(status)s", amount=r.money(params["amount"]),
                 status=str(PAYMENT_STATUS.get(status, status or "—")))
    return _("The system did “%(step)s”", step=step)


def _decision(r: _Reader, step: str, payload: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """'“Screen for fraud” decided Fraud screening level: low (rule 6: No indicator)', and the inputs it read (a
    long rule text goes with them, where "show more" opens it)."""
    outputs = {k: v for k, v in (payload.get("outputs") or {}).items() if v not in (None, "", [])}
    outcome = "; ".join(f"{r.field(k)}: {r.value(k, v)}" for k, v in outputs.items()) or _("nothing")
    inputs = r.items(payload.get("inputs") or {})
    rules = payload.get("rules") or []
    if not rules:
        return _("“%(table)s” decided %(outcome)s (no rule matched)", table=step, outcome=outcome), inputs
    short = [rule for rule in rules if len(rule.get("annotation") or "") <= RULE_INLINE]
    matched = "; ".join(_("rule %(row)s: %(why)s", row=rule.get("row"), why=rule["annotation"])
                        if rule in short and rule.get("annotation") else _("rule %(row)s", row=rule.get("row"))
                        for rule in rules)
    why = [(_("rule %(row)s", row=rule.get("row")), rule["annotation"]) for rule in rules if rule not in short]
    return _("“%(table)s” decided %(outcome)s (%(rules)s)", table=step, outcome=outcome, rules=matched), \
        why + inputs


def _settled(r: _Reader, payload: Mapping[str, Any]) -> str:
    outcome = payload.get("outcome") or {}
    amount = r.money(outcome.get("amount") if outcome.get("amount") is not None
                     else (payload.get("params") or {}).get("amount"))
    reference = outcome.get("reference") or outcome.get("key") or "—"
    if outcome.get("accepted"):
        return _("The bank confirmed payment %(ref)s of %(amount)s", ref=reference, amount=amount)
    return _("The bank declined payment %(ref)s of %(amount)s: %(reason)s", ref=reference, amount=amount,
             reason=outcome.get("reason") or "—")


def _sentence(r: _Reader, event: Mapping[str, Any], payload: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    kind, task = event["type"], event.get("task")
    step, who = r.step(task), r.person(event.get("actor"), task)
    if kind == "task_completed":
        submitted = payload.get("data") or {}
        return (_("%(who)s completed “%(step)s”", who=who, step=step),
                r.items({k: submitted.get(k) for k in (payload.get("before") or {})}))
    if kind == "decision_evaluated":
        return _decision(r, step, r.labels.decision(dict(payload)))  # in the user's language
    if kind == "handler_executed":
        return _handler(r, step, payload), []
    if kind == "effect_intended":
        amount = r.money((payload.get("params") or {}).get("amount"))
        return _("The system sent the bank the instruction to pay %(amount)s", amount=amount), []
    if kind == "effect_settled":
        return _settled(r, payload), []
    simple = {
        "instance_started": lambda: _("%(who)s started the case", who=r.person(event.get("actor"), None)),
        "task_claimed": lambda: _("%(who)s took “%(step)s”", who=who, step=step),
        "task_released": lambda: _("%(who)s released “%(step)s”", who=who, step=step),
        "task_assigned": lambda: _("%(who)s gave “%(step)s” to %(to)s", who=r.person(event.get("actor"), None),
                                   step=step, to=r.people.get(str(payload.get("to"))) or payload.get("to") or "—"),
        "timer_fired": lambda: _("Timer fired: %(step)s", step=step),
        "message_delivered": lambda: _("Message received: %(name)s", name=payload.get("name") or "—"),
        "message_sent": lambda: _("The system sent the message %(name)s", name=payload.get("name") or "—"),
        "signal_received": lambda: _("Signal received: %(name)s", name=payload.get("name") or "—"),
        "incident_raised": lambda: _("The case stopped at “%(step)s”: %(error)s", step=step or "—",
                                     error=payload.get("error") or "—"),
        "incident_failed_again": lambda: _("“%(step)s” failed again: %(error)s", step=step or "—",
                                           error=payload.get("error") or "—"),
        "incident_retried": lambda: _("%(who)s retried “%(step)s”", who=r.person(event.get("actor"), None),
                                      step=step or "—"),
        "incident_resolved": lambda: _("%(who)s resolved the incident at “%(step)s”",
                                       who=r.person(event.get("actor"), None), step=step or "—"),
        "instance_completed": lambda: _("The case was completed"),
        "instance_migrated": lambda: _("%(who)s moved the case to version %(version)s",
                                       who=r.person(event.get("actor"), None),
                                       version=(payload.get("to") or {}).get("version") or "—"),
        "record_changed": lambda: _("%(who)s changed a record: %(reason)s", who=r.person(event.get("actor"), None),
                                    reason=payload.get("reason") or "—"),
        "data_unmasked": lambda: _("%(who)s revealed personal data: %(reason)s",
                                   who=r.person(event.get("actor"), None), reason=payload.get("reason") or "—"),
    }
    if kind in simple:
        return simple[kind](), []
    return _("%(what)s: %(step)s", what=str(EVENT_LABELS.get(kind, kind)), step=step or "—"), []


def timeline(events: list[dict[str, Any]], labels: Labels, clear: bool, process_key: str,
             people: Mapping[str, str], roles: Mapping[str, str]) -> list[HistoryLine]:
    """The events of a case as sentences, newest first; personal values masked unless shown in `clear`."""
    reader = _Reader(labels, process_key, people, roles)
    lines = []
    for event in reversed(events):
        sentence, details = _sentence(reader, event, masked(event.get("payload") or {}, clear))
        who = reader.person(event.get("actor"), event.get("task")) if event.get("actor") else _("System")
        lines.append(HistoryLine(localtime(event["at"]), who, sentence, reader.step(event.get("task")), details,
                                 event.get("task") or ""))
    return lines
