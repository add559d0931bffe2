"""Every business rule task leaves a `decision_evaluated` event: the decision, its hit policy, the inputs, the
rule that decided (id, row, annotation) and the outputs — told in words on the case page and the audit view,
and checked by replay, which re-evaluates the table and must reach the recorded decision."""

from __future__ import annotations

from sqlalchemy import select

from engine.audit.replay import replay_instance
from engine.workflow.actors import OPERATOR
from engine.workflow.decisions import describe
from engine.workflow.models import EventModel
from tests.bpmn.conftest import Insurer, insurer
from tests.bpmn.test_claims_scenarios import claim_at_assessment, events
from tests.tamper import rechain

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


def test_replay_catches_a_decision_rewritten_in_the_history(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)

    def say_high(event, payload) -> None:
        if event.type == "decision_evaluated" and event.task_key == "screen_fraud":
            payload["outputs"]["fraud_level"] = "high"

    rechain(insurer.rt, case, say_high)

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

    rechain(insurer.rt, case, as_if_absent)

    result = replay_instance(insurer.rt, case, OPERATOR)
    assert not result.consistent and "survey_rules decided survey_rules" in result.reason
