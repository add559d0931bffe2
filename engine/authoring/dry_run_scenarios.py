"""Dry-run scenarios: checking a scenario's shape, and the scenarios analysts keep with a process to run again.

    check_scenario(raw) -> dict                       the scenario, or InvalidInputError naming the bad part
    list_scenarios(rt, actor, process_key) / get_scenario(rt, actor, process_key, scenario_id)
    save_scenario(rt, actor, process_key, name, scenario, scenario_id=None) -> SavedScenario
    delete_scenario(rt, actor, process_key, scenario_id)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.workflow.actors import Actor, require
from engine.workflow.forms import check_submission
from engine.workflow.models import DryRunScenarioModel
from engine.workflow.runtime import Runtime

ANALYSTS = {"analyst", "admin"}
STEP_KINDS = ("task", "timer", "message")


@dataclass(frozen=True)
class SavedScenario:
    """A scenario kept with its process, to be run again."""

    id: int
    process_key: str
    name: str
    scenario: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime


def scenario_error(path: str, message: str) -> InvalidInputError:
    """What is wrong with one part of a scenario, as the error the API and CLI show."""
    return InvalidInputError(f"scenario {path}: {message}", {"fields": {path: message}})


def check_scenario(raw: Any) -> dict[str, Any]:
    """The scenario, checked; InvalidInputError names the first bad part."""
    if not isinstance(raw, dict):
        raise scenario_error("scenario", "must be a JSON object")
    unknown = sorted(set(raw) - {"process", "data", "steps", "outcomes", "name"})
    if unknown:
        raise scenario_error(unknown[0], "unknown key (known: process, data, steps, outcomes)")
    if "process" in raw and not isinstance(raw["process"], str):
        raise scenario_error("process", "must be a process id")
    check_submission(raw.get("data") or {}, None)
    steps = raw.get("steps", [])
    if not isinstance(steps, list):
        raise scenario_error("steps", "must be a list")
    for number, step in enumerate(steps):
        kinds = [k for k in STEP_KINDS if k in step] if isinstance(step, dict) else []
        if len(kinds) != 1 or not isinstance(step[kinds[0]], str):
            raise scenario_error(f"steps.{number}", 'must name one "task", "timer" or "message"')
        if not isinstance(step.get("data", {}), dict):
            raise scenario_error(f"steps.{number}.data", "must be a JSON object")
    outcomes = raw.get("outcomes", {})
    if not isinstance(outcomes, dict):
        raise scenario_error("outcomes", "must map operator names to lists of outcomes")
    for operator, items in outcomes.items():
        good = isinstance(items, list) and all(
            isinstance(o, dict) and (isinstance(o.get("result"), dict) or isinstance(o.get("error"), str))
            for o in items)
        if not good:
            raise scenario_error(f"outcomes.{operator}", 'must be a list of {"result": {…}} or {"error": "code"}')
    return raw


def _view(row: DryRunScenarioModel) -> SavedScenario:
    return SavedScenario(row.id, row.process_key, row.name, json.loads(row.scenario), row.created_by,
                         row.created_at, row.updated_at)


def _row(session: Any, process_key: str, scenario_id: int) -> DryRunScenarioModel:
    row = session.get(DryRunScenarioModel, scenario_id)
    if row is None or row.process_key != process_key:
        raise NotFoundError(f"process {process_key!r} has no saved scenario {scenario_id}")
    return row


def list_scenarios(rt: Runtime, actor: Actor, process_key: str) -> list[SavedScenario]:
    """The scenarios saved with a process, by name."""
    require(actor, ANALYSTS, "see dry-run scenarios")
    with rt.uow(read_only=True) as uow:
        return [_view(r) for r in uow.session.scalars(select(DryRunScenarioModel).where(
            DryRunScenarioModel.process_key == process_key).order_by(DryRunScenarioModel.name))]


def get_scenario(rt: Runtime, actor: Actor, process_key: str, scenario_id: int) -> SavedScenario:
    """One saved scenario."""
    require(actor, ANALYSTS, "see dry-run scenarios")
    with rt.uow(read_only=True) as uow:
        return _view(_row(uow.session, process_key, scenario_id))


def save_scenario(rt: Runtime, actor: Actor, process_key: str, name: str, scenario: Any,
                  scenario_id: int | None = None) -> SavedScenario:
    """Keep a scenario with its process (a new one, or replacing `scenario_id`); names are unique per process."""
    require(actor, ANALYSTS, "save dry-run scenarios")
    name = (name or "").strip() if isinstance(name, str) else ""
    if not 0 < len(name) <= 200:
        raise InvalidInputError("a scenario needs a name of 1 to 200 characters", {"fields": {"name": "1–200 chars"}})
    scenario = check_scenario(scenario)
    if scenario.get("process", process_key) != process_key:
        raise scenario_error("process", f"the scenario is for {scenario['process']!r}, not {process_key!r}")
    now = rt.clock()
    text = json.dumps({**scenario, "process": process_key}, ensure_ascii=False, sort_keys=True)
    with rt.uow() as uow:
        session = uow.session
        clash = session.scalar(select(DryRunScenarioModel).where(
            DryRunScenarioModel.process_key == process_key, DryRunScenarioModel.name == name))
        if clash is not None and clash.id != scenario_id:
            raise ConflictError(f"process {process_key!r} already has a scenario named {name!r}")
        if scenario_id is None:
            row = DryRunScenarioModel(process_key=process_key, name=name, scenario=text, created_by=actor.username,
                                      created_at=now, updated_at=now)
            session.add(row)
        else:
            row = _row(session, process_key, scenario_id)
            row.name, row.scenario, row.updated_at = name, text, now
        session.flush()
        saved = _view(row)
        uow.commit()
    return saved


def delete_scenario(rt: Runtime, actor: Actor, process_key: str, scenario_id: int) -> None:
    """Forget a saved scenario."""
    require(actor, ANALYSTS, "delete dry-run scenarios")
    with rt.uow() as uow:
        uow.session.delete(_row(uow.session, process_key, scenario_id))
        uow.commit()
