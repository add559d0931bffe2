"""Migration moves waiting claims to a newer deployment only when nothing they did or wait for changed;
moved claims go on along the new version, the rest along the old, and replay agrees with both."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine.audit.replay import replay_instance
from engine.authoring.migration import migrate, plan_migration
from engine.errors import ForbiddenError, InvalidInputError
from engine.identity.users import add_user
from engine.workflow import deployments, instances, task_service
from engine.workflow.actors import OPERATOR
from engine.workflow.history import verify_chains
from engine.workflow.models import EventModel, InstanceModel, WaitModel
from tests.bpmn.conftest import BPMN, Insurer
from tests.bpmn.conftest import insurer as demo_insurer  # noqa: F401 — a fixture, by this name
from tests.bpmn.test_claims_scenarios import assessment, claim_at_assessment, claim_form, open_keys, report_claim
from tests.conftest import World, fixture_files

LIMIT_RULE = b"<text>50000</text>"


@pytest.fixture
def insurer(demo_insurer: Insurer) -> Insurer:  # noqa: F811 — the demo fixture's name is taken above
    """The demo insurer (bpmn/ deployed, staff, reference data) with analysts."""
    insurer = demo_insurer
    with insurer.rt.uow() as uow:
        add_user(uow.session, insurer.rt.settings, "analyst", ["analyst"], None, insurer.clock())
        add_user(uow.session, insurer.rt.settings, "admin_user", ["admin"], None, insurer.clock())
        uow.commit()
    return insurer


def bpmn_files(**edits: tuple[bytes, bytes]) -> dict[str, bytes]:
    """bpmn/ as deployed, with `file=(old, new)` replacements applied (each must hit)."""
    files = {p.relative_to(BPMN).as_posix(): p.read_bytes() for p in sorted(BPMN.rglob("*"))
             if p.suffix in (".bpmn", ".dmn", ".json")}
    for name, (old, new) in edits.items():
        name = name.replace("__", ".")
        assert old in files[name], f"{old!r} not in {name}"
        files[name] = files[name].replace(old, new)
    return files


def deploy(insurer: Insurer, files: dict[str, bytes]) -> int:
    """Deploy a file set; its deployment id."""
    return deployments.deploy(insurer.rt, files, OPERATOR).id


def first_deployment(insurer: Insurer) -> int:
    """The deployment the fixture made (bpmn/ as it is)."""
    return min(p.deployment_id for p in deployments.list_processes(insurer.rt, all_versions=True))


def pinned(insurer: Insurer, instance_id: int) -> int:
    """The deployment an instance is pinned to."""
    with insurer.rt.uow() as uow:
        return uow.session.get(InstanceModel, instance_id).deployment_id


def lower_limit(insurer: Insurer) -> int:
    """A new version whose approval limit is 5,000 instead of 50,000."""
    return deploy(insurer, bpmn_files(approval_limits__dmn=(LIMIT_RULE, b"<text>5000</text>")))


def outcomes(report) -> dict[int, tuple[str, list[str]]]:
    return {i.id: (i.outcome, i.reasons) for i in report.instances}


def test_a_claim_waiting_at_an_unchanged_task_moves_and_takes_the_new_path(insurer: Insurer) -> None:
    old = first_deployment(insurer)
    moved = claim_at_assessment(insurer)
    stays = claim_at_assessment(insurer, claim_form(incident="2026-10-20", claim_type="hospitalization"))
    new = lower_limit(insurer)
    analyst = insurer.actor("analyst")

    plan = plan_migration(insurer.rt, analyst, old, new, "claims", [moved])
    (item,) = plan.instances
    assert (item.outcome, item.reasons) == ("can migrate", [])
    assert "'Look up approval limit': decision table changed" in item.changes
    assert pinned(insurer, moved) == old  # a plan changes nothing

    report = migrate(insurer.rt, analyst, old, new, process_key="claims", instance_ids=[moved])
    assert outcomes(report) == {moved: ("migrated", [])}
    assert pinned(insurer, moved) == new and pinned(insurer, stays) == old
    assert open_keys(insurer, moved) == ["assess_amount"]  # the same task row, still open

    # 8,000 is above the new limit: the moved claim needs a manager; the other one is paid at once.
    insurer.complete(moved, "assess_amount", "adjuster", assessment(7_500))
    assert open_keys(insurer, moved) == ["approve_payout"]
    assert insurer.complete(stays, "assess_amount", "adjuster", assessment(7_500)) == "completed"
    assert insurer.complete(moved, "approve_payout", "manager", {"approved": True, "reason": "ok"}) == "completed"

    for case in (moved, stays):
        result = replay_instance(insurer.rt, case, OPERATOR)
        assert result.consistent, str(result)


def test_the_migration_is_an_event_in_the_hash_chain_with_the_fingerprint(insurer: Insurer) -> None:
    old = first_deployment(insurer)
    case = claim_at_assessment(insurer)
    new = lower_limit(insurer)
    migrate(insurer.rt, insurer.actor("analyst"), old, new, process_key="claims")
    (event,) = [e for e in insurer.history(case) if e["type"] == "instance_migrated"]
    assert event["actor"] == "analyst"
    payload = event["payload"]
    assert payload["from"]["deployment"] == old and payload["to"]["deployment"] == new
    assert payload["from"]["version"] == 1 and payload["to"]["version"] == 2
    assert len(payload["from"]["hash"]) == 64 and payload["from"]["hash"] != payload["to"]["hash"]
    assert "'Look up approval limit': decision table changed" in payload["changes"]
    assert len(payload["fingerprint"]) == 64
    with insurer.rt.uow() as uow:
        assert verify_chains(uow.session, case, keys=insurer.rt.audit_keys).ok
    waiting = replay_instance(insurer.rt, case, OPERATOR)
    assert waiting.consistent and waiting.steps == 3, str(waiting)  # start, register, migrate


def test_a_claim_waiting_at_a_changed_task_stays_and_the_reason_names_it(insurer: Insurer) -> None:
    old = first_deployment(insurer)
    case = claim_at_assessment(insurer)
    new = deploy(insurer, bpmn_files(claims__bpmn=(b'name="Assess amount"', b'name="Assess the amount"')))
    before = insurer.history(case)

    report = migrate(insurer.rt, insurer.actor("analyst"), old, new)
    ((outcome, reasons),) = [v for k, v in outcomes(report).items() if k == case]
    assert outcome == "cannot migrate"
    assert reasons == ["task 'Assess amount' was changed (name) while the case waits at it"]
    assert pinned(insurer, case) == old and insurer.history(case) == before
    assert insurer.complete(case, "assess_amount", "adjuster", assessment(7_500)) == "completed"


def test_a_changed_task_that_already_ran_keeps_the_claim_where_it_is(insurer: Insurer) -> None:
    old = first_deployment(insurer)
    case = claim_at_assessment(insurer)
    new = deploy(insurer, bpmn_files(claims__bpmn=(b'name="Register claim (first notice of loss)"',
                                                   b'name="Register the claim"')))
    (item,) = plan_migration(insurer.rt, insurer.actor("admin_user"), old, new, "claims").instances
    assert item.id == case
    assert item.outcome == "cannot migrate"
    assert item.reasons == ["task 'Register claim (first notice of loss)' was changed (name) after it ran"]


def test_a_claim_waiting_at_a_task_that_no_longer_exists_stays(insurer: Insurer) -> None:
    old = first_deployment(insurer)
    case = report_claim(insurer, claim_form(amount=60_000))
    insurer.complete(case, "assess_amount", "adjuster", assessment(59_500))
    assert open_keys(insurer, case) == ["approve_payout"]
    # Approval is no longer a task of its own: the gateways' flows to it now go to payment.
    files = bpmn_files(claims__bpmn=(b'sourceRef="gw_above_limit" targetRef="approve_payout"',
                                     b'sourceRef="gw_above_limit" targetRef="svc_status_approved"'))
    text = files["claims.bpmn"].decode().replace('sourceRef="gw_above_claim" targetRef="approve_payout"',
                                                 'sourceRef="gw_above_claim" targetRef="svc_status_approved"')
    start = text.index('<bpmn:userTask id="approve_payout"')
    text = text[:start] + text[text.index("</bpmn:userTask>", start) + len("</bpmn:userTask>"):]
    text = text.replace('<bpmn:sequenceFlow id="flow_approval_decided" sourceRef="approve_payout" '
                        'targetRef="gw_approved"/>', "")
    text = text.replace("<bpmn:incoming>flow_approval_decided</bpmn:incoming>", "")
    # the claims director's four eyes named the removed task too
    text = text.replace('name="separateFrom" value="assess_amount approve_payout"',
                        'name="separateFrom" value="assess_amount"')
    files["claims.bpmn"] = text.encode()
    texts = json.loads(files["claims.zh.json"])  # its Chinese goes with the task (a key naming nothing is refused)
    for section in texts.values():
        for gone in ("approve_payout", "flow_approval_decided"):
            section.pop(gone, None)
    files["claims.zh.json"] = json.dumps(texts, ensure_ascii=False).encode()
    new = deploy(insurer, _without_shapes(files, ["approve_payout", "flow_approval_decided"]))

    (item,) = plan_migration(insurer.rt, insurer.actor("analyst"), old, new, "claims", [case]).instances
    assert item.outcome == "cannot migrate"
    assert "the waiting task 'Approve payout' no longer exists" in item.reasons


def _without_shapes(files: dict[str, bytes], elements: list[str]) -> dict[str, bytes]:
    """Drop the diagram shapes and lane references of removed elements."""
    import re

    text = files["claims.bpmn"].decode()
    for element in elements:
        text = re.sub(rf'<bpmndi:BPMN(Shape|Edge)[^>]*bpmnElement="{element}"[^>]*?(/>|>.*?</bpmndi:BPMN\1>)',
                      "", text, flags=re.S)
        text = text.replace(f"<bpmn:flowNodeRef>{element}</bpmn:flowNodeRef>", "")
    return {**files, "claims.bpmn": text.encode()}


def test_a_waiting_timer_keeps_its_due_time_and_a_changed_one_blocks(insurer: Insurer) -> None:
    old = first_deployment(insurer)
    case = report_claim(insurer, claim_form(documents=["claim_form", "id_copy"]))
    assert open_keys(insurer, case) == ["request_documents"]
    with insurer.rt.uow() as uow:
        # The request also waits for the claimant's message (documents_sent_by_claimant): only the timer is timed.
        (due,) = uow.session.scalars(select(WaitModel.due_at).where(WaitModel.instance_id == case,
                                                                    WaitModel.status == "pending",
                                                                    WaitModel.kind == "timer"))
    insurer.clock.advance(days=3)
    same_timer = lower_limit(insurer)
    assert outcomes(migrate(insurer.rt, insurer.actor("analyst"), old, same_timer, process_key="claims")) == {
        case: ("migrated", [])}
    with insurer.rt.uow() as uow:
        waits = list(uow.session.scalars(select(WaitModel).where(WaitModel.instance_id == case,
                                                                 WaitModel.status == "pending",
                                                                 WaitModel.kind == "timer")))
    assert [w.due_at for w in waits] == [due]  # the 30 days still count from when the documents were asked for

    shorter = deploy(insurer, bpmn_files(approval_limits__dmn=(LIMIT_RULE, b"<text>5000</text>"),
                                         claims__bpmn=(b'<bpmn:timeDuration>"P30D"', b'<bpmn:timeDuration>"P10D"')))
    (item,) = plan_migration(insurer.rt, insurer.actor("analyst"), same_timer, shorter, "claims").instances
    assert item.outcome == "cannot migrate"
    assert item.reasons == ["timer '30 days without documents' was changed (event); its due time cannot carry over"]
    insurer.wait(days=28)
    assert insurer.status(case) == "completed"  # withdrawn by the original deadline
    result = replay_instance(insurer.rt, case, OPERATOR)
    assert result.consistent, str(result)


def test_a_claim_changed_since_the_plan_is_a_conflict_and_is_not_moved(insurer: Insurer) -> None:
    old = first_deployment(insurer)
    case = claim_at_assessment(insurer)
    new = lower_limit(insurer)
    (item,) = plan_migration(insurer.rt, insurer.actor("analyst"), old, new, "claims", [case]).instances
    task = insurer.task(case, "assess_amount")
    task_service.claim(insurer.rt, task.id, insurer.actor("adjuster"))  # someone works on it meanwhile

    report = migrate(insurer.rt, insurer.actor("analyst"), old, new, instance_ids=[case],
                     expected_versions={case: item.version})
    ((outcome, reasons),) = outcomes(report).values()
    assert outcome == "conflict"
    assert reasons == [f"instance changed meanwhile (version {item.version} → {item.version + 1}); plan again"]
    assert pinned(insurer, case) == old
    assert not [e for e in insurer.history(case) if e["type"] == "instance_migrated"]


def test_an_instance_with_an_open_incident_is_not_moved(insurer: Insurer) -> None:
    old = first_deployment(insurer)
    case = claim_at_assessment(insurer)
    with insurer.rt.uow() as uow:
        uow.session.get(InstanceModel, case).status = "incident"
        uow.commit()
    new = lower_limit(insurer)
    (item,) = plan_migration(insurer.rt, insurer.actor("analyst"), old, new, "claims").instances
    assert item.outcome == "cannot migrate"
    assert item.reasons[0] == "instance has an open incident: resolve or retry it first"


def test_only_analysts_and_administrators_migrate(insurer: Insurer) -> None:
    old = first_deployment(insurer)
    case = claim_at_assessment(insurer)
    new = lower_limit(insurer)
    for who in ("adjuster", "manager", "auditor"):
        with pytest.raises(ForbiddenError, match="needs one of the roles admin, analyst"):
            migrate(insurer.rt, insurer.actor(who), old, new)
        with pytest.raises(ForbiddenError):
            plan_migration(insurer.rt, insurer.actor(who), old, new)
    assert pinned(insurer, case) == old
    assert outcomes(migrate(insurer.rt, insurer.actor("admin_user"), old, new)) == {case: ("migrated", [])}


@pytest.mark.parametrize(("source", "target", "process", "ids", "field", "message"), [
    ("old", "old", None, None, "to", "the source and the target are the same deployment"),
    ("old", 999, None, None, "to", "there is no deployment 999"),
    (999, "new", None, None, "from", "there is no deployment 999"),
    ("old", "new", "travel", None, "process", "has no process 'travel'"),
    ("old", "new", None, [4242], "instances", "4242 are not instances of deployment"),
    ("old", "other", None, None, "to", "have no process in common"),
])
def test_bad_requests_are_refused_with_the_field_and_change_nothing(
        insurer: Insurer, source, target, process, ids, field, message) -> None:
    ids_ = {"old": first_deployment(insurer)}
    case = claim_at_assessment(insurer)
    ids_["new"] = lower_limit(insurer)
    ids_["other"] = deploy(insurer, fixture_files("bpmn_call"))
    with pytest.raises(InvalidInputError, match=message) as caught:
        migrate(insurer.rt, insurer.actor("analyst"), ids_.get(source, source), ids_.get(target, target),
                process_key=process, instance_ids=ids)
    assert field in caught.value.details["fields"]
    assert pinned(insurer, case) == ids_["old"]


def _count_events(insurer: Insurer) -> int:
    with insurer.rt.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(EventModel))


def test_a_dry_run_through_migrate_changes_nothing(insurer: Insurer) -> None:
    old = first_deployment(insurer)
    case = claim_at_assessment(insurer)
    new = lower_limit(insurer)
    events = _count_events(insurer)
    report = migrate(insurer.rt, insurer.actor("analyst"), old, new, dry_run=True)
    assert report.dry_run and outcomes(report) == {case: ("can migrate", [])}
    assert pinned(insurer, case) == old and _count_events(insurer) == events


# --- call activities --------------------------------------------------------------------------------

@pytest.fixture
def applications(world: World) -> World:
    """The call-activity fixture deployed, with an agent and an underwriter."""
    deployments.deploy(world.rt, fixture_files("bpmn_call"), OPERATOR)
    with world.rt.uow() as uow:
        add_user(uow.session, world.rt.settings, "agent", ["agent"], None, world.clock())
        add_user(uow.session, world.rt.settings, "uw", ["underwriter"], None, world.clock())
        uow.commit()
    return world


def _at_decision(world: World) -> int:
    started = instances.start_instance(world.rt, "application", {}, world.actor("agent"))
    (task,) = instances.show_instance(world.rt, started.id, OPERATOR).open_tasks
    task_service.complete(world.rt, task["id"], world.actor("agent"), {"items": [1, 2]})
    return started.id


def _call_files(parent: tuple[bytes, bytes] | None = None, child: tuple[bytes, bytes] | None = None) -> dict:
    files = fixture_files("bpmn_call")
    for name, edit in (("parent.bpmn", parent), ("child.bpmn", child)):
        if edit:
            assert edit[0] in files[name]
            files[name] = files[name].replace(*edit)
    return files


def test_a_case_inside_a_call_activity_moves_when_the_called_process_is_unchanged(applications: World) -> None:
    world = applications
    old = deployments.list_processes(world.rt)[0].deployment_id
    case = _at_decision(world)
    new = deployments.deploy(world.rt, _call_files(parent=(b'name="Review outcome"', b'name="Review the outcome"')),
                             OPERATOR).id
    report = migrate(world.rt, world.actor("analyst"), old, new)
    (item,) = report.instances
    assert (item.outcome, item.reasons) == ("migrated", [])
    assert "'Review outcome': name changed" in item.changes
    (task,) = instances.show_instance(world.rt, case, OPERATOR).open_tasks
    assert task["task"] == "decide"
    task_service.complete(world.rt, task["id"], world.actor("uw"), {"decision": "accept"})
    (task,) = instances.show_instance(world.rt, case, OPERATOR).open_tasks
    assert task["name"] == "Review the outcome"  # the new version's task
    task_service.complete(world.rt, task["id"], world.actor("agent"), {})
    result = replay_instance(world.rt, case, OPERATOR)
    assert result.consistent and result.steps == 5, str(result)


def test_a_case_waiting_at_a_changed_task_of_a_called_process_stays(applications: World) -> None:
    world = applications
    old = deployments.list_processes(world.rt)[0].deployment_id
    _at_decision(world)
    new = deployments.deploy(world.rt, _call_files(child=(b'name="Decide"', b'name="Decide on the risk"')),
                             OPERATOR).id
    (item,) = plan_migration(world.rt, world.actor("analyst"), old, new).instances
    assert item.outcome == "cannot migrate"
    assert item.reasons == ["task 'Decide' in 'uw' was changed (name) while the case waits at it"]
