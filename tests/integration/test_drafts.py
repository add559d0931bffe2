"""Drafts: one per analyst and process, started from a deployed version with the files that process
needs, saved under the same limits and XML safety as any upload, never overwritten by a stale save,
deployed as a new version."""

from __future__ import annotations

import dataclasses

import pytest

from engine.authoring import drafts
from engine.errors import ConflictError, DeploymentInvalidError, ForbiddenError, InvalidInputError, NotFoundError
from engine.identity.users import add_user
from engine.workflow import deployments
from engine.workflow.actors import OPERATOR
from tests.conftest import World, fixture_files


@pytest.fixture
def base(world: World) -> World:
    """claim_review deployed, plus an unrelated process in the same deployment, and a second analyst."""
    files = fixture_files()
    files["other.bpmn"] = fixture_files("bpmn_call")["child.bpmn"]
    deployments.deploy(world.rt, files, OPERATOR, "first")
    with world.rt.uow() as uow:
        add_user(uow.session, world.rt.settings, "analyst2", ["analyst"], None, world.clock())
        uow.commit()
    return world


def test_a_new_draft_holds_the_files_its_process_needs_from_the_newest_version(base: World) -> None:
    draft = drafts.open_draft(base.rt, base.actor("analyst"), "claim_review")
    assert sorted(draft.files) == ["claim_review.bpmn", "forms/assess.json", "forms/register.json"]
    assert draft.files["claim_review.bpmn"] == fixture_files()["claim_review.bpmn"].decode()
    assert (draft.revision, draft.username, draft.base_deployment_id) == (1, "analyst", 1)
    assert drafts.open_draft(base.rt, base.actor("analyst"), "claim_review").revision == 1  # opened again, not new


def test_saving_replaces_the_files_and_each_analyst_has_their_own_draft(base: World) -> None:
    mine = drafts.open_draft(base.rt, base.actor("analyst"), "claim_review")
    files = {**mine.files, "claim_review.bpmn": mine.files["claim_review.bpmn"].replace("Register claim", "Register")}
    base.clock.advance(minutes=5)
    saved = drafts.save_draft(base.rt, base.actor("analyst"), "claim_review", files, revision=mine.revision)
    assert saved.revision == 2 and saved.updated_at > mine.updated_at
    assert 'name="Register"' in drafts.get_draft(base.rt, base.actor("analyst"), "claim_review").files[
        "claim_review.bpmn"]
    theirs = drafts.open_draft(base.rt, base.actor("analyst2"), "claim_review")
    assert 'name="Register claim"' in theirs.files["claim_review.bpmn"] and theirs.revision == 1


def test_a_stale_save_is_a_conflict_and_keeps_the_newer_work(base: World) -> None:
    first = drafts.open_draft(base.rt, base.actor("analyst"), "claim_review")
    newer = {**first.files, "forms/assess.json": '{"type": "object"}'}
    drafts.save_draft(base.rt, base.actor("analyst"), "claim_review", newer, revision=1)
    with pytest.raises(ConflictError, match="revision 2"):
        drafts.save_draft(base.rt, base.actor("analyst"), "claim_review", first.files, revision=1)
    assert drafts.get_draft(base.rt, base.actor("analyst"), "claim_review").files["forms/assess.json"] == (
        '{"type": "object"}')


def test_only_analysts_and_admins_have_drafts(base: World) -> None:
    for call in (lambda a: drafts.open_draft(base.rt, a, "claim_review"),
                 lambda a: drafts.save_draft(base.rt, a, "claim_review", {"x.bpmn": "<x/>"}),
                 lambda a: drafts.get_draft(base.rt, a, "claim_review"),
                 lambda a: drafts.discard_draft(base.rt, a, "claim_review")):
        with pytest.raises(ForbiddenError):
            call(base.actor("clerk"))


@pytest.mark.parametrize(("files", "expected"), [
    ({"evil.bpmn": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'},
     "DOCTYPE and entity declarations are not allowed"),
    ({"broken.bpmn": "<bpmn:definitions"}, "not well-formed XML"),
    ({"../escape.bpmn": "<x/>"}, "relative paths"),
    ({"notes.txt": "hello"}, "only .bpmn, .dmn and .json"),
    ({"forms/bad.json": "{not json"}, "not valid JSON"),
    ({}, "at least one file"),
])
def test_unsafe_or_unreadable_files_are_refused_and_nothing_is_saved(base: World, files: dict[str, str],
                                                                      expected: str) -> None:
    with pytest.raises(InvalidInputError, match=expected) as caught:
        drafts.save_draft(base.rt, base.actor("analyst"), "claim_review", files)
    assert caught.value.details["problems"]
    with pytest.raises(NotFoundError):
        drafts.get_draft(base.rt, base.actor("analyst"), "claim_review")


def test_size_limits_of_deployments_apply_to_drafts(base: World) -> None:
    base.rt.settings = dataclasses.replace(base.rt.settings, max_file_bytes=1000, max_files=2)
    with pytest.raises(InvalidInputError, match="at most 1,000"):
        drafts.save_draft(base.rt, base.actor("analyst"), "claim_review", {"a.bpmn": "<x>" + "y" * 1000 + "</x>"})
    with pytest.raises(InvalidInputError, match="at most 2"):
        drafts.save_draft(base.rt, base.actor("analyst"), "claim_review",
                          {"a.bpmn": "<x/>", "b.bpmn": "<x/>", "c.bpmn": "<x/>"})


def test_a_deployed_draft_becomes_the_newest_version_with_its_comment_and_is_done_with(base: World) -> None:
    draft = drafts.open_draft(base.rt, base.actor("analyst"), "claim_review")
    files = {**draft.files, "claim_review.bpmn": draft.files["claim_review.bpmn"].replace("1000", "2000")}
    drafts.save_draft(base.rt, base.actor("analyst"), "claim_review", files)
    info = drafts.deploy_draft(base.rt, base.actor("analyst"), "claim_review", "limit 2000")
    assert info.created and info.processes == [("claim_review", 2)] and info.comment == "limit 2000"
    newest = deployments.list_versions(base.rt, "claim_review")[0]
    assert (newest.version, newest.deployed_by, newest.comment) == (2, "analyst", "limit 2000")
    with pytest.raises(NotFoundError):
        drafts.get_draft(base.rt, base.actor("analyst"), "claim_review")


def test_an_invalid_draft_is_not_deployed_and_is_kept_with_every_problem_named(base: World) -> None:
    draft = drafts.open_draft(base.rt, base.actor("analyst"), "claim_review")
    files = {**draft.files, "claim_review.bpmn": draft.files["claim_review.bpmn"]
             .replace('id="fixture_check"', 'id="no_such_handler"').replace('name="Claims manager"', 'name="Wizards"')}
    drafts.save_draft(base.rt, base.actor("analyst"), "claim_review", files)
    with pytest.raises(DeploymentInvalidError) as caught:
        drafts.deploy_draft(base.rt, base.actor("analyst"), "claim_review", "broken")
    where = {(p.element, p.message.split(" ")[0]) for p in caught.value.problems}
    assert ("check", "unknown") in where and ("Lane_manager", "lane") in where
    assert drafts.get_draft(base.rt, base.actor("analyst"), "claim_review").files == files
    assert len(deployments.list_versions(base.rt, "claim_review")) == 1


def test_deploying_an_unchanged_draft_is_a_conflict_that_points_to_rollback(base: World) -> None:
    drafts.open_draft(base.rt, base.actor("analyst"), "claim_review")
    # Only the process's own files: a new content (the first deployment also held other.bpmn).
    assert drafts.deploy_draft(base.rt, base.actor("analyst"), "claim_review", "own files").created
    drafts.open_draft(base.rt, base.actor("analyst"), "claim_review")
    with pytest.raises(ConflictError, match="roll back"):
        drafts.deploy_draft(base.rt, base.actor("analyst"), "claim_review", "same")
    assert drafts.get_draft(base.rt, base.actor("analyst"), "claim_review").revision == 1
    assert len(deployments.list_versions(base.rt, "claim_review")) == 2


def test_a_discarded_draft_is_gone_and_a_draft_of_an_unknown_process_is_not_found(base: World) -> None:
    drafts.open_draft(base.rt, base.actor("analyst"), "claim_review")
    drafts.discard_draft(base.rt, base.actor("analyst"), "claim_review")
    with pytest.raises(NotFoundError):
        drafts.get_draft(base.rt, base.actor("analyst"), "claim_review")
    with pytest.raises(NotFoundError):
        drafts.open_draft(base.rt, base.actor("analyst"), "nope")
