"""The auditor's engine functions on the real diagrams and handlers: case search, the steps of a case replayed
on its pinned deployment, revealing personal data (recorded in the chain), altered deployments, checkpoints."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import delete, select, update

from engine.audit.case_audit import case_steps, search_cases, unmask
from engine.audit.deployment_integrity import verify_deployments
from engine.audit.integrity import check_checkpoint, make_checkpoint, verify_all
from engine.audit.replay import replay_instance
from engine.errors import ForbiddenError, InvalidInputError, NotFoundError
from engine.identity.users import add_user
from engine.workflow.actors import OPERATOR
from engine.workflow.history import GENESIS, event_hash, verify_chains
from engine.workflow.models import DeploymentFileModel, DeploymentModel, EventModel, InstanceModel, UserModel
from tests.bpmn.conftest import Insurer, insurer
from tests.bpmn.test_claims_scenarios import approval, assessment, claim_at_approval, claim_form, report_claim
from tests.bpmn.test_sales_scenarios import sale_at_terms, sold

__all__ = ["insurer"]
ID_NUMBER = claim_form()["claimant_id_number"]


def _grant_unmask(insurer: Insurer, *names: str) -> None:
    with insurer.rt.uow() as uow:
        if uow.session.scalar(select(UserModel).where(UserModel.username == "admin")) is None:
            add_user(uow.session, insurer.rt.settings, "admin", ["admin"], None, insurer.clock())
        uow.session.execute(update(UserModel).where(UserModel.username.in_(names)).values(may_unmask=True))
        uow.commit()


def _paid_claim(insurer: Insurer) -> int:
    case = claim_at_approval(insurer)
    insurer.complete(case, "approve_payout", "manager", approval(True))
    assert insurer.status(case) == "completed"
    return case


# --- search -------------------------------------------------------------------------------------

def test_search_finds_cases_by_key_prefix_process_status_dates_and_person(insurer: Insurer) -> None:
    auditor = insurer.actor("auditor")
    paid = _paid_claim(insurer)
    insurer.clock.advance(days=2)
    waiting = report_claim(insurer, claim_form())
    assert insurer.status(waiting) == "running"
    sale = insurer.start("sales", "agent")
    paid_key = insurer.data(paid)["claim"]["claim_number"]

    def ids(**filters) -> list[int]:
        return [hit.id for hit in search_cases(insurer.rt, auditor, **filters)[0]]

    assert ids() == [sale, waiting, paid]  # newest first
    assert paid in ids(business_key=paid_key[:-2]) and ids(business_key=paid_key[:-2] + "X") == []
    assert ids(business_key=paid_key) == [paid]
    assert ids(process_key="sales") == [sale]
    assert ids(status="completed") == [paid]
    assert ids(started_to=insurer.clock.now - timedelta(days=1)) == [paid]
    assert ids(started_from=insurer.clock.now - timedelta(hours=1), process_key="claims") == [waiting]
    assert ids(person="manager") == [paid]  # approved the payout in that case only
    assert ids(person="agent") == [sale]
    assert ids(person="nobody") == []
    hits, total = search_cases(insurer.rt, auditor, limit=2, offset=2)
    assert total == 3 and [h.id for h in hits] == [paid]
    assert ids(business_key="C%") == []  # a wildcard in the prefix is a character, not a pattern


def test_search_is_for_auditors_and_admins_only(insurer: Insurer) -> None:
    with pytest.raises(ForbiddenError):
        search_cases(insurer.rt, insurer.actor("clerk"))


# --- steps --------------------------------------------------------------------------------------

def test_steps_of_a_paid_claim_show_the_path_waiting_step_and_data_after_each_step(insurer: Insurer) -> None:
    case = _paid_claim(insurer)
    result = case_steps(insurer.rt, insurer.actor("auditor"), case)
    steps = result.steps
    assert result.problem is None and result.diagram_file == "claims.bpmn" and len(result.deployment_hash) == 64
    # the payout is its own step: committed as an intent with the approval, settled once the bank answered
    assert [s.task for s in steps] == [None, "register_claim", "assess_amount", "approve_payout", "svc_pay_claim"]
    assert [s.actor for s in steps] == ["clerk", "clerk", "adjuster", "manager", None]
    started, registered, assessed, approved, paid = steps
    assert started.events[0] == "instance_started" and started.active == ["register_claim"]
    assert "register_claim" not in started.path and started.data.get("claim") is None
    assert registered.active == ["assess_amount"]
    assert {"register_claim", "svc_verify_claim", "svc_suggest_payout"} <= set(registered.path)
    assert registered.data["claimant_id_number"] == ID_NUMBER  # the engine's data, in clear
    assert "svc_verify_claim" in registered.elements and "payable_amount" not in registered.data
    assert assessed.data["payable_amount"] == 59_500 and assessed.active == ["approve_payout"]
    # the payout waits for the bank (its error boundary event with it)
    assert approved.active == ["payment_failed", "svc_pay_claim"] and approved.events[-1] == "effect_intended"
    assert paid.events[0] == "effect_settled" and "instance_completed" in paid.events and paid.active == []
    assert {"approve_payout", "svc_pay_claim", "svc_notify_paid"} <= set(paid.path)
    assert approved.path[:len(assessed.path)] == assessed.path  # the path only grows, in the order passed
    assert paid.path[:len(approved.path)] == approved.path
    assert steps[0].first_seq == 1 and all(a.last_seq < b.first_seq for a, b in pairwise(steps))
    assert steps[-1].last_seq == max(e["seq"] for e in insurer.history(case))


def test_steps_of_a_sale_follow_the_call_activity_into_underwriting_and_the_cooling_off_timer(
        insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)
    sold(insurer, sale)
    insurer.wait(days=15, hours=8)
    assert insurer.status(sale) == "completed"
    steps = case_steps(insurer.rt, insurer.actor("auditor"), sale).steps
    application = next(s for s in steps if s.task == "application")
    # The call activity ran underwriting to its end inside the application step.
    assert "underwriting" in application.path and "underwriting" not in steps[application.number - 2].path
    inside = set(application.path) - set(steps[application.number - 2].path) - {"underwriting"}
    assert {"svc_verify_applicant", "score_risk", "svc_price_policy"} <= inside, inside
    assert application.active == ["accept_terms"] and application.data["uw_decision"] == "accept"
    paid = next(s for s in steps if s.task == "premium_payment")
    assert paid.active == ["receipt_overdue", "record_receipt"]  # issued: waits for the signed receipt (reminded)
    received = next(s for s in steps if s.task == "record_receipt")
    assert received.active == ["cooling_off_period"]  # the event-based gateway waits for the timer or a cancellation
    timer = steps[-1]
    assert timer.events[0] == "timer_fired" and timer.actor is None
    assert "cooling_off_over" in timer.path and timer.active == []
    assert timer.data["confirmation"] == {"confirmed": True, "cancellation_pending": False}
    assert "confirmation" not in paid.data


def test_steps_of_an_unknown_case_are_404_and_refused_to_staff(insurer: Insurer) -> None:
    with pytest.raises(NotFoundError):
        case_steps(insurer.rt, insurer.actor("auditor"), 999)
    case = report_claim(insurer, claim_form())
    with pytest.raises(ForbiddenError):
        case_steps(insurer.rt, insurer.actor("clerk"), case)


def test_steps_stop_at_the_step_whose_recorded_input_was_altered(insurer: Insurer) -> None:
    case = _paid_claim(insurer)
    with insurer.rt.uow() as uow:
        event = uow.session.scalar(select(EventModel).where(EventModel.instance_id == case,
                                                            EventModel.task_key == "assess_amount",
                                                            EventModel.type == "task_completed"))
        uow.session.execute(update(EventModel).where(EventModel.id == event.id).values(
            task_key="approve_payout"))
        uow.commit()
    result = case_steps(insurer.rt, insurer.actor("auditor"), case)
    assert len(result.steps) == 2 and result.problem_seq == event.seq and "approve_payout" in result.problem


# --- unmask -------------------------------------------------------------------------------------

def test_unmasking_needs_the_permission_even_for_an_admin(insurer: Insurer) -> None:
    case = report_claim(insurer, claim_form())
    _grant_unmask(insurer)  # creates the admin, grants nobody
    for name in ("auditor", "admin"):
        with pytest.raises(ForbiddenError, match="unmask permission"):
            unmask(insurer.rt, insurer.actor(name), case, "complaint 42")
    assert [e["type"] for e in insurer.history(case)].count("data_unmasked") == 0


def test_unmasking_reveals_the_personal_fields_and_records_who_why_and_what(insurer: Insurer) -> None:
    case = _paid_claim(insurer)
    _grant_unmask(insurer, "auditor")
    insurer.clock.advance(hours=1)
    revealed = unmask(insurer.rt, insurer.actor("auditor"), case, "  complaint 42 from the claimant ")
    assert revealed.fields["claimant_id_number"] == ID_NUMBER
    assert revealed.fields["payee_account"] == claim_form()["payee_account"]
    assert "claimed_amount" not in revealed.fields and revealed.step is None
    last = insurer.history(case)[-1]
    assert (last["type"], last["actor"], last["seq"]) == ("data_unmasked", "auditor", revealed.seq)
    assert last["payload"] == {"fields": sorted(revealed.fields), "reason": "complaint 42 from the claimant",
                               "step": None}
    assert ID_NUMBER not in json.dumps(last["payload"])  # which fields, never their values
    with insurer.rt.uow() as uow:
        assert verify_chains(uow.session, case, keys=insurer.rt.audit_keys).ok
    assert replay_instance(insurer.rt, case, OPERATOR).consistent  # replay steps over the event
    assert len(case_steps(insurer.rt, insurer.actor("auditor"), case).steps) == 5  # the payout settled on its own


def test_unmasking_one_step_reveals_that_steps_data(insurer: Insurer) -> None:
    case = report_claim(insurer, claim_form())
    _grant_unmask(insurer, "admin")
    first = unmask(insurer.rt, insurer.actor("admin"), case, "dispute", step=1)
    assert first.fields == {} and first.step == 1  # nothing personal was known when the case started
    second = unmask(insurer.rt, insurer.actor("admin"), case, "dispute", step=2)
    assert second.fields["claimant_id_number"] == ID_NUMBER and second.seq == first.seq + 1
    # The case goes on after reveals: the next step's events follow them in the chain.
    insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))
    assert replay_instance(insurer.rt, case, OPERATOR).consistent


@pytest.mark.parametrize("reason, step", [("", None), ("   ", None), ("x" * 501, None), ("ok", 9)])
def test_unmasking_without_a_reason_or_of_a_missing_step_is_refused_and_records_nothing(
        insurer: Insurer, reason: str, step: int | None) -> None:
    case = report_claim(insurer, claim_form())
    _grant_unmask(insurer, "auditor")
    before = len(insurer.history(case))
    with pytest.raises(InvalidInputError):
        unmask(insurer.rt, insurer.actor("auditor"), case, reason, step=step)
    assert len(insurer.history(case)) == before


# --- deployments --------------------------------------------------------------------------------

def _alter(insurer: Insurer, name: str, old: bytes, new: bytes) -> None:
    with insurer.rt.uow() as uow:
        row = uow.session.scalar(select(DeploymentFileModel).where(DeploymentFileModel.name == name))
        assert old in row.content
        row.content = row.content.replace(old, new, 1)
        uow.commit()


@pytest.mark.parametrize("name, old, new", [
    ("claims.bpmn", b'name="Assess amount"', b'name="Assess amount quickly"'),
    ("approval_limits.dmn", b"50000", b"90000"),
    ("forms/claims_register_claim.json", b'"title"', b'"title" '),
])
def test_a_deployed_file_altered_in_the_database_is_named(insurer: Insurer, name: str, old: bytes,
                                                          new: bytes) -> None:
    assert verify_deployments(insurer.rt, insurer.actor("auditor")).ok
    _alter(insurer, name, old, new)
    report = verify_deployments(insurer.rt, insurer.actor("auditor"))
    assert [(p.file, "content altered" in p.reason) for p in report.problems] == [(name, True)]
    whole = verify_all(insurer.rt, OPERATOR)
    assert not whole.ok and whole.chains.ok


def test_a_file_rewritten_with_its_recorded_hash_is_caught_by_the_set_hash(insurer: Insurer) -> None:
    case = report_claim(insurer, claim_form())
    with insurer.rt.uow() as uow:
        row = uow.session.scalar(select(DeploymentFileModel).where(DeploymentFileModel.name == "claims.bpmn"))
        row.content = row.content.replace(b"Assess amount", b"Assess amount!", 1)
        row.sha256 = hashlib.sha256(row.content).hexdigest()
        uow.commit()
    (problem,) = verify_deployments(insurer.rt, OPERATOR).problems
    assert problem.file is None and "no longer matches" in problem.reason
    # Rewriting the deployment's own hash as well: the cases recorded the hash they started on.
    from engine.workflow.parsing import content_hash

    with insurer.rt.uow() as uow:
        files = {f.name: f.content for f in uow.session.scalars(select(DeploymentFileModel))}
        uow.session.execute(update(DeploymentModel).values(hash=content_hash(files)))
        uow.commit()
    (problem,) = verify_deployments(insurer.rt, OPERATOR).problems
    assert f"case {case} started" in problem.reason


def test_verifying_deployments_is_for_auditors(insurer: Insurer) -> None:
    with pytest.raises(ForbiddenError):
        verify_deployments(insurer.rt, insurer.actor("agent"))


# --- checkpoints --------------------------------------------------------------------------------

def _rehash_all(insurer: Insurer, instance_id: int, edit) -> None:
    """An insider's rewrite: change an event, then recompute every hash after it and the instance's head — an
    insider who also stole the audit key (without it, the keyed chain itself names the rewrite:
    tests/bpmn/test_audit_chain.py)."""
    with insurer.rt.uow() as uow:
        events = list(uow.session.scalars(select(EventModel).where(EventModel.instance_id == instance_id)
                                          .order_by(EventModel.seq)))
        prev = GENESIS
        for event in events:
            payload = edit(event, event.payload)
            digest = event_hash(prev, event.instance_id, event.seq, event.type, event.occurred_at, event.actor,
                                event.task_key, payload, keys=insurer.rt.audit_keys, key_id=event.key_id,
                                state_hash=event.state_hash)
            uow.session.execute(update(EventModel).where(EventModel.id == event.id)
                                .values(payload=payload, prev_hash=prev, hash=digest))
            prev = digest
        uow.session.execute(update(InstanceModel).where(InstanceModel.id == instance_id).values(last_hash=prev))
        uow.commit()


def test_a_checkpoint_holds_every_head_and_deployment_and_checks_out_while_cases_go_on(insurer: Insurer) -> None:
    case = report_claim(insurer, claim_form())
    checkpoint = json.loads(json.dumps(make_checkpoint(insurer.rt, insurer.actor("auditor"))))
    assert checkpoint["verification"]["ok"] is True and checkpoint["generated_by"] == "auditor"
    assert checkpoint["heads"][str(case)]["seq"] == len(insurer.history(case))
    assert set(checkpoint["deployments"]["1"]["files"]) >= {"claims.bpmn", "sales.bpmn"}
    insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))  # chains grow after the checkpoint
    later = report_claim(insurer, claim_form(2, amount=3000))
    result = check_checkpoint(insurer.rt, insurer.actor("auditor"), checkpoint)
    assert result.ok and result.problems == [] and result.instances_since == 1 and later


def test_a_history_rewritten_and_rehashed_consistently_is_caught_by_the_checkpoint(insurer: Insurer) -> None:
    case = _paid_claim(insurer)
    checkpoint = make_checkpoint(insurer.rt, OPERATOR)

    def richer(event, payload: str) -> str:
        return payload.replace('"payable_amount":59500', '"payable_amount":95000')

    _rehash_all(insurer, case, richer)
    with insurer.rt.uow() as uow:
        assert verify_chains(uow.session, keys=insurer.rt.audit_keys).ok  # the chain alone cannot tell
    result = check_checkpoint(insurer.rt, OPERATOR, checkpoint)
    assert not result.ok
    (problem,) = result.problems
    assert (problem.kind, problem.id, problem.seq) == ("instance", case, checkpoint["heads"][str(case)]["seq"])
    assert "rewritten" in problem.reason


def test_removed_events_altered_files_and_an_edited_checkpoint_are_all_named(insurer: Insurer) -> None:
    case = report_claim(insurer, claim_form())
    checkpoint = make_checkpoint(insurer.rt, OPERATOR)
    last = checkpoint["heads"][str(case)]["seq"]
    with insurer.rt.uow() as uow:
        uow.session.execute(delete(EventModel).where(EventModel.instance_id == case, EventModel.seq == last))
        uow.session.execute(update(InstanceModel).where(InstanceModel.id == case).values(last_seq=last - 1))
        uow.commit()
    _alter(insurer, "claims.bpmn", b'name="Assess amount"', b'name="Assess"')
    edited = {**checkpoint, "heads": {**checkpoint["heads"], "999": {"seq": 1, "hash": "0" * 64}}}
    problems = [str(p) for p in check_checkpoint(insurer.rt, OPERATOR, edited).problems]
    assert problems == [
        "checkpoint: the checkpoint file itself was altered (its digest does not match its heads and deployments)",
        f"instance {case} event #{last}: its history now ends at event #{last - 1}: events recorded by the "
        "checkpoint were removed",
        "instance 999: the case is gone",
        "deployment 1 file claims.bpmn: altered since the checkpoint",
    ]


@pytest.mark.parametrize("bad", [None, [], {"format": "other"}, {"format": "insureflow-checkpoint/1"},
                                 {"format": "insureflow-checkpoint/1", "heads": {"x": 1}, "deployments": {},
                                  "digest": ""}])
def test_something_that_is_not_a_checkpoint_is_invalid_input(insurer: Insurer, bad) -> None:
    with pytest.raises(InvalidInputError):
        check_checkpoint(insurer.rt, OPERATOR, bad)
