"""A dry run tries a draft on a scenario: the path it takes, the tasks met, the data at the end — and
nothing kept anywhere, no real payment made."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from engine.authoring.dry_run import dry_run
from engine.authoring.dry_run_scenarios import delete_scenario, get_scenario, list_scenarios, save_scenario
from engine.errors import ConflictError, DeploymentInvalidError, ForbiddenError, InvalidInputError, NotFoundError
from engine.identity.users import add_user
from engine.workflow import deployments
from engine.workflow.actors import OPERATOR
from engine.workflow.models import Base
from tasks.payment_gateway import SimulatedGateway
from tasks.records import DomainBase
from tasks.services import DomainServices
from tests.bpmn.conftest import Insurer
from tests.bpmn.conftest import insurer as demo_insurer  # noqa: F401 — a fixture, by this name
from tests.bpmn.test_claims_scenarios import assessment, claim_form
from tests.conftest import World, fixture_files
from tests.integration.test_migration import LIMIT_RULE, bpmn_files

PAID_PATH = ["svc_status_approved", "svc_pay_claim", "svc_terminate_liability", "svc_notify_paid", "end_paid"]


@pytest.fixture
def insurer(demo_insurer: Insurer) -> Insurer:  # noqa: F811 — the demo fixture's name is taken above
    """The demo insurer (bpmn/ deployed, staff, reference data) with analysts."""
    insurer = demo_insurer
    with insurer.rt.uow() as uow:
        add_user(uow.session, insurer.rt.settings, "analyst", ["analyst"], None, insurer.clock())
        uow.commit()
    return insurer


def simulated(insurer: Insurer) -> tuple[DomainServices, SimulatedGateway]:
    """Services for a dry run: the real cipher, a gateway of its own."""
    gateway = SimulatedGateway()
    return DomainServices(cipher=insurer.cipher, gateway=gateway), gateway


def claim_scenario(*, assessed: float = 7_500, **steps: Any) -> dict[str, Any]:
    """A claim registered and assessed (then whatever steps are given)."""
    return {"process": "claims", "steps": [
        {"task": "register_claim", "data": claim_form()},
        {"task": "assess_amount", "data": assessment(assessed)},
        *steps.get("more", []),
    ], **({"outcomes": steps["outcomes"]} if "outcomes" in steps else {})}


def row_counts(insurer: Insurer) -> dict[str, int]:
    """Rows in every table of the schema."""
    with insurer.rt.uow() as uow:
        return {table.name: uow.session.scalar(select(func.count()).select_from(table))
                for metadata in (Base.metadata, DomainBase.metadata) for table in metadata.sorted_tables}


def elements(result) -> list[str]:
    return [step["element"] for step in result.path]


def test_a_draft_with_a_lower_approval_limit_takes_the_approval_branch(insurer: Insurer) -> None:
    services, gateway = simulated(insurer)
    analyst = insurer.actor("analyst")
    deployed = dry_run(insurer.rt, analyst, claim_scenario(), services=services)
    assert deployed.status == "completed" and deployed.reason == "the process reached its end"
    assert elements(deployed)[-5:] == PAID_PATH and "approve_payout" not in elements(deployed)

    draft = bpmn_files(approval_limits__dmn=(LIMIT_RULE, b"<text>5000</text>"))
    result = dry_run(insurer.rt, analyst, claim_scenario(), files=draft, services=services)
    assert result.status == "waiting"
    assert result.reason == "the scenario ran out of steps while the process waits"
    assert elements(result)[-4:] == ["assess_amount", "gw_assessment", "approval_limit", "gw_above_limit"]
    assert [(w["element"], w["kind"]) for w in result.waiting] == [("approve_payout", "task")]
    assert [(t["task"], t["role"]) for t in result.tasks] == [
        ("register_claim", "claims_clerk"), ("assess_amount", "adjuster"), ("approve_payout", "claims_manager")]
    assert result.tasks[1]["answer"] == assessment(7_500) and result.tasks[2]["answer"] is None
    assert result.data["approval_limit"] == 5000 and result.data["payable_amount"] == 7_500

    approved = claim_scenario(more=[{"task": "approve_payout", "data": {"approved": True, "reason": "ok"}}])
    finished = dry_run(insurer.rt, analyst, approved, files=draft, services=services)
    assert finished.status == "completed", finished.reason
    # within the claims manager's limit: no claims director (issue 12, item 16)
    assert elements(finished)[-8:] == ["approve_payout", "gw_approved", "gw_above_director_limit", *PAID_PATH], \
        elements(finished)
    assert [h["operator"] for h in finished.handlers][-3:] == ["pay_claim", "terminate_liability", "notify_customer"]
    assert insurer.gateway.paid == {}  # the real gateway never saw a payment
    assert len(gateway.paid) == 2  # the dry runs' own gateway did (rolled back with everything else)


def test_a_dry_run_keeps_no_row_in_any_table(insurer: Insurer) -> None:
    services, _ = simulated(insurer)
    before = row_counts(insurer)
    draft = bpmn_files(approval_limits__dmn=(LIMIT_RULE, b"<text>5000</text>"))
    for files in (None, draft):
        result = dry_run(insurer.rt, insurer.actor("analyst"), claim_scenario(), files=files, services=services)
        assert result.path and result.handlers
    assert row_counts(insurer) == before
    assert len(deployments.list_processes(insurer.rt, all_versions=True)) == 4  # no draft was deployed


def test_an_invalid_answer_is_reported_with_its_fields_and_stops_the_run(insurer: Insurer) -> None:
    services, _ = simulated(insurer)
    scenario = claim_scenario()
    scenario["steps"][1]["data"] = {"payable_amount": "a lot"}
    result = dry_run(insurer.rt, insurer.actor("analyst"), scenario, services=services)
    assert result.status == "invalid_answer"
    assert result.reason.startswith("the answer for 'Assess amount' is invalid")
    assert set(result.tasks[1]["errors"]) >= {"payable_amount"}
    assert "approval_limit" not in elements(result)
    assert [w["element"] for w in result.waiting] == ["assess_amount"]


def test_a_step_the_process_is_not_ready_for_is_a_mismatch(insurer: Insurer) -> None:
    services, _ = simulated(insurer)
    scenario = {"process": "claims", "steps": [{"task": "assess_amount", "data": assessment(100)}]}
    result = dry_run(insurer.rt, insurer.actor("analyst"), scenario, services=services)
    assert result.status == "scenario_mismatch"
    assert result.reason == "the scenario answers 'assess_amount', but the process waits for 'register_claim'"


def test_a_payment_decline_from_the_scenario_routes_to_finance(insurer: Insurer) -> None:
    services, gateway = simulated(insurer)
    declined = {"pay_claim": [{"error": "payment_failed", "message": "declined", "data": {"reason": "declined"}}]}
    result = dry_run(insurer.rt, insurer.actor("analyst"), claim_scenario(outcomes=declined), services=services)
    assert result.status == "waiting"
    assert [w["element"] for w in result.waiting] == ["resolve_payment_failure"]
    (pay,) = [h for h in result.handlers if h["operator"] == "pay_claim"]
    assert pay["simulated"] is True and pay["result"]["error"] == "payment_failed"
    assert gateway.paid == {} and insurer.gateway.paid == {}


def test_a_timer_firing_in_the_scenario_closes_a_claim_without_documents(insurer: Insurer) -> None:
    services, _ = simulated(insurer)
    scenario = {"process": "claims", "steps": [
        {"task": "register_claim", "data": claim_form(documents=["claim_form", "id_copy"])},
        {"timer": "documents_deadline"}]}
    result = dry_run(insurer.rt, insurer.actor("analyst"), scenario, services=services)
    assert result.status == "completed", result.reason
    assert elements(result)[-4:] == ["documents_deadline", "svc_withdraw_claim", "svc_notify_withdrawn",
                                     "end_withdrawn"]
    early = {"process": "claims", "steps": [{"timer": "documents_deadline"}]}
    mismatch = dry_run(insurer.rt, insurer.actor("analyst"), early, services=services)
    assert (mismatch.status, mismatch.reason) == ("scenario_mismatch",
                                                  "no timer 'documents_deadline' is waiting at this point")


def test_an_invalid_draft_answers_with_its_problems_and_runs_nothing(insurer: Insurer) -> None:
    before = row_counts(insurer)
    draft = bpmn_files(claims__bpmn=(b'serviceTaskOperator id="pay_claim"', b'serviceTaskOperator id="pay_it"'))
    with pytest.raises(DeploymentInvalidError) as caught:
        dry_run(insurer.rt, insurer.actor("analyst"), claim_scenario(), files=draft)
    assert any("pay_it" in p.message for p in caught.value.problems)
    assert row_counts(insurer) == before


@pytest.mark.parametrize(("scenario", "field"), [
    ([], "scenario"),
    ({"process": "claims", "steps": [{"wait": 3}]}, "steps.0"),
    ({"process": "claims", "steps": "all"}, "steps"),
    ({"process": "claims", "outcomes": {"pay_claim": ["declined"]}}, "outcomes.pay_claim"),
    ({"process": "travel"}, "process"),
    ({}, "process"),
    ({"process": "claims", "colour": "red"}, "colour"),
])
def test_a_malformed_scenario_is_refused_with_the_field(insurer: Insurer, scenario: Any, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        dry_run(insurer.rt, insurer.actor("analyst"), scenario, files=bpmn_files())
    assert field in caught.value.details["fields"]


def test_saved_scenarios_run_again_on_a_later_draft(insurer: Insurer) -> None:
    services, _ = simulated(insurer)
    analyst = insurer.actor("analyst")
    saved = save_scenario(insurer.rt, analyst, "claims", "small hospital claim", claim_scenario())
    assert [s.name for s in list_scenarios(insurer.rt, analyst, "claims")] == ["small hospital claim"]
    with pytest.raises(ConflictError, match="already has a scenario named"):
        save_scenario(insurer.rt, analyst, "claims", "small hospital claim", claim_scenario())

    again = get_scenario(insurer.rt, analyst, "claims", saved.id)
    draft = bpmn_files(approval_limits__dmn=(LIMIT_RULE, b"<text>5000</text>"))
    assert dry_run(insurer.rt, analyst, again.scenario, services=services).status == "completed"
    assert dry_run(insurer.rt, analyst, again.scenario, files=draft, services=services).status == "waiting"

    insurer.clock.advance(hours=1)
    renamed = save_scenario(insurer.rt, analyst, "claims", "below the old limit", claim_scenario(assessed=6_000),
                            saved.id)
    assert renamed.id == saved.id and renamed.updated_at > renamed.created_at
    assert renamed.scenario["steps"][1]["data"] == assessment(6_000)
    with pytest.raises(NotFoundError):
        get_scenario(insurer.rt, analyst, "sales", saved.id)
    with pytest.raises(InvalidInputError, match="the scenario is for 'claims', not 'sales'"):
        save_scenario(insurer.rt, analyst, "sales", "x", claim_scenario())
    delete_scenario(insurer.rt, analyst, "claims", saved.id)
    assert list_scenarios(insurer.rt, analyst, "claims") == []
    for call in (lambda a: list_scenarios(insurer.rt, a, "claims"),
                 lambda a: save_scenario(insurer.rt, a, "claims", "n", claim_scenario()),
                 lambda a: dry_run(insurer.rt, a, claim_scenario())):
        with pytest.raises(ForbiddenError):
            call(insurer.actor("adjuster"))


def test_the_path_follows_a_call_activity_into_the_called_process(world: World) -> None:
    deployments.deploy(world.rt, fixture_files("bpmn_call"), OPERATOR)
    scenario = {"process": "application", "steps": [
        {"task": "apply", "data": {"items": [1, 2, 3]}}, {"task": "decide", "data": {"decision": "accept"}},
        {"task": "review", "data": {}}]}
    result = dry_run(world.rt, world.actor("analyst"), scenario)
    assert result.status == "completed"
    path = [(p["process"], p["element"]) for p in result.path]
    assert ("uw", "decide") in path and ("application", "call_uw") in path
    assert path.index(("application", "apply")) < path.index(("uw", "decide")) < path.index(("application", "tally"))
    assert result.data["total"] == 6
    assert [t["task"] for t in result.tasks] == ["apply", "decide", "review"]
