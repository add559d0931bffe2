"""Who may claim, release, assign and complete a human task: role, starter, claim state, four-eyes, operator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine.errors import ConflictError, ForbiddenError
from engine.workflow.actors import OPERATOR, Actor
from engine.workflow.authorization import can_assign, check_assign, check_claim, check_complete, check_release
from engine.workflow.models import HumanTaskModel
from engine.workflow.settings import EngineSettings

SETTINGS = EngineSettings()
NOBODY: frozenset[str] = frozenset()

CLERK = Actor("clerk", frozenset({"claims_clerk"}))
ADJ = Actor("adj", frozenset({"adjuster"}))
ADJ2 = Actor("adj2", frozenset({"adjuster"}))
MGR = Actor("mgr", frozenset({"claims_manager"}))
UW_LEAD = Actor("lead", frozenset({"senior_underwriter"}))
ROOT_WITH_ROLE = Actor("root", frozenset({"adjuster"}), is_operator=True)


def task(**overrides: Any) -> HumanTaskModel:
    """An open, unclaimed task of the adjuster role (override any column)."""
    values: dict[str, Any] = {
        "id": 42, "instance_id": 1, "spiff_task_id": "00000000-0000-0000-0000-000000000001",
        "process_key": "claim_review", "business_key": "CLM-1", "task_key": "assess", "task_name": "Assess amount",
        "lane": "Adjuster", "candidate_role": "adjuster", "assignee": None, "status": "open", "form": None,
        "separate_from": None, "priority": 50, "created_at": datetime(2026, 11, 2, tzinfo=UTC),
    }
    values.update(overrides)
    return HumanTaskModel(**values)


def starter_task(starter: str = "clerk") -> HumanTaskModel:
    """A task with no lane: it belongs to whoever started the case."""
    return task(lane=None, candidate_role=None, assignee=starter, task_key="register", task_name="Register claim")


def approval(**overrides: Any) -> HumanTaskModel:
    """A four-eyes task: whoever performed `assess` may not approve."""
    return task(task_key="approve", task_name="Approve payout", separate_from="assess", **overrides)


# --- claim --------------------------------------------------------------------------------------

def test_a_holder_of_the_role_may_claim_an_open_task() -> None:
    check_claim(task(), ADJ, NOBODY)


def test_claiming_needs_the_candidate_role() -> None:
    with pytest.raises(ForbiddenError, match="needs role adjuster"):
        check_claim(task(), CLERK, NOBODY)


def test_a_task_claimed_by_someone_else_cannot_be_claimed() -> None:
    with pytest.raises(ConflictError, match="already claimed by adj"):
        check_claim(task(assignee="adj"), ADJ2, NOBODY)


def test_claiming_a_task_one_already_holds_is_allowed() -> None:
    check_claim(task(assignee="adj"), ADJ, NOBODY)


def test_a_completed_task_cannot_be_claimed() -> None:
    with pytest.raises(ConflictError, match="already completed by adj"):
        check_claim(task(status="completed", completed_by="adj"), ADJ2, NOBODY)


@pytest.mark.parametrize("status", ["cancelled", "suspended"])
def test_a_task_that_is_not_open_cannot_be_claimed(status: str) -> None:
    with pytest.raises(ConflictError, match=status):
        check_claim(task(status=status), ADJ, NOBODY)


def test_the_starter_may_claim_a_task_without_a_lane() -> None:
    check_claim(starter_task("clerk"), Actor("clerk", NOBODY), NOBODY)


def test_a_task_without_a_lane_belongs_to_the_starter_whatever_roles_others_hold() -> None:
    with pytest.raises(ForbiddenError, match="belongs to clerk"):
        check_claim(starter_task("clerk"), Actor("boss", frozenset({"claims_clerk", "admin"})), NOBODY)


def test_the_operator_may_not_claim_human_tasks() -> None:
    with pytest.raises(ForbiddenError, match="named user"):
        check_claim(task(), OPERATOR, NOBODY)


def test_an_operator_holding_the_role_still_may_not_claim() -> None:
    with pytest.raises(ForbiddenError, match="named user"):
        check_claim(task(), ROOT_WITH_ROLE, NOBODY)


# --- four-eyes ----------------------------------------------------------------------------------

def test_four_eyes_refuses_a_claim_by_who_performed_the_separated_task() -> None:
    with pytest.raises(ForbiddenError, match="four-eyes"):
        check_claim(approval(), ADJ, {"adj"})


def test_four_eyes_allows_a_colleague_who_did_not_perform_it() -> None:
    check_claim(approval(), ADJ2, {"adj"})


def test_performers_do_not_matter_without_separate_from() -> None:
    check_claim(task(), ADJ, {"adj"})


def test_four_eyes_refuses_completion_by_the_earlier_performer() -> None:
    with pytest.raises(ForbiddenError, match="four-eyes"):
        check_complete(approval(assignee="adj"), ADJ, ["adj", "clerk"])


# --- release ------------------------------------------------------------------------------------

def test_the_assignee_may_release_a_claimed_task() -> None:
    check_release(task(assignee="adj"), ADJ, SETTINGS)


def test_releasing_an_unclaimed_task_is_a_conflict() -> None:
    with pytest.raises(ConflictError, match="not claimed"):
        check_release(task(), ADJ, SETTINGS)


def test_a_task_without_a_lane_cannot_be_released() -> None:
    with pytest.raises(ForbiddenError, match="cannot be released"):
        check_release(starter_task("clerk"), CLERK, SETTINGS)


def test_a_colleague_may_not_release_someone_elses_task() -> None:
    with pytest.raises(ForbiddenError, match="held by adj"):
        check_release(task(assignee="adj"), ADJ2, SETTINGS)


def test_a_manager_with_assign_rights_may_release_someone_elses_task() -> None:
    check_release(task(assignee="adj"), MGR, SETTINGS)


def test_a_completed_task_cannot_be_released() -> None:
    with pytest.raises(ConflictError):
        check_release(task(assignee="adj", status="completed", completed_by="adj"), ADJ, SETTINGS)


# --- assign -------------------------------------------------------------------------------------

def test_can_assign_follows_the_assign_rights_setting() -> None:
    assert can_assign(task(), MGR, SETTINGS)
    assert not can_assign(task(), ADJ, SETTINGS)
    assert not can_assign(task(), UW_LEAD, SETTINGS)
    assert can_assign(task(candidate_role="underwriter"), UW_LEAD, SETTINGS)


def test_a_manager_may_assign_to_a_holder_of_the_role() -> None:
    check_assign(task(), MGR, ADJ, SETTINGS, NOBODY)


def test_a_manager_may_reassign_a_claimed_task() -> None:
    check_assign(task(assignee="adj"), MGR, ADJ2, SETTINGS, NOBODY)


def test_assigning_needs_assign_rights_for_the_tasks_role() -> None:
    with pytest.raises(ForbiddenError, match="may not assign"):
        check_assign(task(), ADJ, ADJ2, SETTINGS, NOBODY)
    with pytest.raises(ForbiddenError, match="may not assign"):
        check_assign(task(), UW_LEAD, ADJ, SETTINGS, NOBODY)


def test_assign_rights_come_from_the_settings() -> None:
    no_rights = EngineSettings(assign_rights={})
    with pytest.raises(ForbiddenError, match="may not assign"):
        check_assign(task(), MGR, ADJ, no_rights, NOBODY)
    adjusters_assign = EngineSettings(assign_rights={"adjuster": frozenset({"adjuster"})})
    check_assign(task(), ADJ, ADJ2, adjusters_assign, NOBODY)


def test_the_target_must_hold_the_tasks_role() -> None:
    with pytest.raises(ForbiddenError, match="clerk may not work on task 42"):
        check_assign(task(), MGR, CLERK, SETTINGS, NOBODY)


def test_the_target_is_checked_against_four_eyes() -> None:
    with pytest.raises(ForbiddenError, match="adj performed assess"):
        check_assign(approval(), MGR, ADJ, SETTINGS, {"adj"})


def test_a_task_without_a_lane_cannot_be_assigned() -> None:
    with pytest.raises(ForbiddenError, match="may not assign"):
        check_assign(starter_task("clerk"), Actor("admin", frozenset({"admin"})), CLERK, SETTINGS, NOBODY)


def test_the_operator_may_not_assign() -> None:
    with pytest.raises(ForbiddenError, match="operator may not assign"):
        check_assign(task(), OPERATOR, ADJ, SETTINGS, NOBODY)


def test_a_task_cannot_be_assigned_to_the_operator() -> None:
    with pytest.raises(ForbiddenError, match="named user"):
        check_assign(task(), MGR, ROOT_WITH_ROLE, SETTINGS, NOBODY)


def test_a_completed_task_cannot_be_assigned() -> None:
    with pytest.raises(ConflictError, match="already completed"):
        check_assign(task(status="completed", completed_by="adj"), MGR, ADJ2, SETTINGS, NOBODY)


# --- complete -----------------------------------------------------------------------------------

def test_the_assignee_holding_the_role_may_complete() -> None:
    check_complete(task(assignee="adj"), ADJ, NOBODY)


def test_an_unclaimed_task_may_be_completed_by_a_role_holder() -> None:
    check_complete(task(), ADJ, NOBODY)


def test_a_task_claimed_by_someone_else_cannot_be_completed() -> None:
    with pytest.raises(ForbiddenError, match="claimed by adj"):
        check_complete(task(assignee="adj"), ADJ2, NOBODY)


def test_completing_needs_the_role_even_for_the_assignee() -> None:
    with pytest.raises(ForbiddenError, match="needs role adjuster"):
        check_complete(task(assignee="clerk"), CLERK, NOBODY)


def test_a_completed_task_cannot_be_completed_again() -> None:
    with pytest.raises(ConflictError, match="already completed by adj"):
        check_complete(task(assignee="adj", status="completed", completed_by="adj"), ADJ, NOBODY)


def test_only_the_starter_may_complete_a_task_without_a_lane() -> None:
    check_complete(starter_task("clerk"), CLERK, NOBODY)
    with pytest.raises(ForbiddenError, match="who started the case"):
        check_complete(starter_task("clerk"), Actor("other_clerk", frozenset({"claims_clerk"})), NOBODY)


def test_the_operator_may_not_complete_human_tasks() -> None:
    with pytest.raises(ForbiddenError, match="named user"):
        check_complete(task(), OPERATOR, NOBODY)
