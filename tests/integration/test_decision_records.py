"""Every business rule task leaves a `decision_evaluated` event: the decision, its hit policy, the inputs, the
rule that decided (id, row, annotation) and the outputs — told in words on the case page and the audit view,
and checked by replay, which re-evaluates the table and must reach the recorded decision."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from engine.decisions import describe
from engine.history import GENESIS, event_hash
from engine.identity import OPERATOR
from engine.models import EventModel, InstanceModel
from engine.replay import replay_instance
from tests.bpmn.conftest import Insurer, insurer
from tests.bpmn.test_claims_scenarios import claim_at_assessment, events

__all__ = ["insurer"]  # the fixture these tests stand on


def test_each_rule_table_a_claim_passes_records_what_it_decided(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)

    decided = {e["task"]: e["payload"] for e in events(insurer, case, "decision_evaluated")}

    assert {"claim_requirements", "screen_fraud", "survey_rules"} <= decided.keys()
    fraud = decided["screen_fraud"]
    assert (fraud["decision"], fraud["hit_policy"], fraud["outputs"]["fraud_level"]) == (
        "fraud_screening", "FIRST", "low")
    (rule,) = fraud["rules"]  # a first-hit table: the one rule that decided
    assert rule["id"].startswith("Rule_fraud_screening_") and rule["annotation"] and rule["row"] >= 1
    assert fraud["inputs"] and all(isinstance(k, str) for k in fraud["inputs"])
    text = describe(fraud)
    assert text.startswith(f"fraud_screening: rule {rule['row']} '{rule['annotation']}' → ")
    assert "fraud_level=low" in text
    assert replay_instance(insurer.rt, case, OPERATOR).consistent


def _rewrite(insurer: Insurer, case: int, edit) -> None:
    """An insider edits the history and recomputes every hash, so the chain itself checks out."""
    with insurer.rt.uow() as uow:
        prev = GENESIS
        for event in uow.session.scalars(select(EventModel).where(EventModel.instance_id == case)
                                         .order_by(EventModel.seq)).all():
            payload = json.loads(event.payload)
            edit(event, payload)
            text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = event_hash(prev, event.instance_id, event.seq, event.type, event.occurred_at, event.actor,
                                event.task_key, text)
            uow.session.execute(update(EventModel).where(EventModel.id == event.id)
                                .values(payload=text, prev_hash=prev, hash=digest))
            prev = digest
        uow.session.execute(update(InstanceModel).where(InstanceModel.id == case).values(last_hash=prev))
        uow.commit()


def test_replay_catches_a_decision_rewritten_in_the_history(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)

    def say_high(event, payload) -> None:
        if event.type == "decision_evaluated" and event.task_key == "screen_fraud":
            payload["outputs"]["fraud_level"] = "high"

    _rewrite(insurer, case, say_high)

    result = replay_instance(insurer.rt, case, OPERATOR)
    assert not result.consistent
    assert "screen_fraud decides fraud_screening" in result.reason and "fraud_level=high" in result.reason


def test_replay_catches_a_decision_left_out_of_the_history(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)
    with insurer.rt.uow() as uow:
        (dropped,) = uow.session.scalars(select(EventModel.seq).where(
            EventModel.instance_id == case, EventModel.task_key == "survey_rules")).all()

    def as_if_absent(event, payload) -> None:  # the decision's event made into one replay steps over
        if event.seq == dropped:
            event.type = "task_claimed"
            payload.clear()

    _rewrite(insurer, case, as_if_absent)

    result = replay_instance(insurer.rt, case, OPERATOR)
    assert not result.consistent and "survey_rules decided survey_rules" in result.reason
