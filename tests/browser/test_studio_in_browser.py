"""The studio in a real browser: an analyst changes a gateway condition of the claims diagram in the
modeler's properties panel, saves, validates and deploys it with a comment; new claims follow the new
path while a claim started before finishes on the old one; the diff shows the change on the diagram;
an invalid change is named and marked on its element on the canvas."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.workflow import instances, task_service
from engine.workflow.actors import actor_for
from engine.workflow.models import HumanTaskModel
from tests.browser.conftest import LiveSite
from tests.e2e.test_api_claim_flow import first_notice

# Claims whose fraud level calls for a survey are surveyed only above 500,000 from now on.
NEW_CONDITION = "survey_needed and claimed_amount > 500000"


def _actor(site: LiveSite, name: str):
    with site.wired.runtime.uow() as uow:
        return actor_for(uow, name)


def _open_tasks(site: LiveSite, instance_id: int) -> list[str]:
    with site.wired.runtime.uow() as uow:
        return list(uow.session.scalars(select(HumanTaskModel.task_key).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.status == "open")))


def _complete(site: LiveSite, instance_id: int, task_key: str, user: str | None, data: dict) -> None:
    """Complete the open task as `user` (None: its assignee)."""
    with site.wired.runtime.uow() as uow:
        task = uow.session.scalar(select(HumanTaskModel).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.task_key == task_key,
            HumanTaskModel.status == "open"))
    task_service.complete(site.wired.runtime, task.id, _actor(site, user or task.assignee), data)


def _large_claim(days_earlier: int = 0) -> dict[str, Any]:
    """The demo's hospital claim at 85 % of the sum insured: fraud screening says "medium", which asks
    for a survey under the deployed rules."""
    data = {**first_notice(), "claimed_amount": 170000}
    data["incident_date"] = (date.fromisoformat(data["incident_date"]) - timedelta(days=days_earlier)).isoformat()
    return data


def _open_editor(site: LiveSite, page: Page) -> None:
    site.sign_in(page, "analyst")
    page.goto(f"{site.url}/studio/claims/edit")
    expect(page.locator("#modeler.modeler-ready")).to_be_visible()


def _select(page: Page, element_id: str) -> None:
    page.fill("#element-search", element_id)
    page.dispatch_event("#element-search", "change")
    expect(page.locator(f'.djs-element.selected[data-element-id="{element_id}"]')).to_have_count(1)


def test_a_changed_condition_is_deployed_from_the_modeler_and_only_new_claims_take_the_new_path(
        live_site: LiveSite, page: Page) -> None:
    rt = live_site.wired.runtime
    before = instances.start_instance(rt, "claims", {}, _actor(live_site, "claims.clerk"))

    _open_editor(live_site, page)
    _select(page, "flow_survey_needed")
    condition = page.locator("#bio-properties-panel-condition")
    expect(condition).to_have_value("survey_needed")
    condition.fill(NEW_CONDITION)
    page.click("#save-draft")
    expect(page.locator("#draft-status")).to_have_text("Saved")
    page.click("#validate-draft")
    expect(page.locator("#draft-status")).to_have_text("No problems found.")
    page.fill("#deploy-comment", "survey every claim above 50,000")
    page.click("#deploy-button")
    page.wait_for_url(f"{live_site.url}/studio/claims/versions/2")
    expect(page.locator(".alert-success")).to_contain_text("Deployed as version 2.")
    expect(page.locator("#version-facts")).to_contain_text("survey every claim above 50,000")

    after = instances.start_instance(rt, "claims", {}, _actor(live_site, "claims.clerk"))
    assert (before.version, after.version) == (1, 2)
    _complete(live_site, before.id, "register_claim", "claims.clerk", _large_claim())
    _complete(live_site, after.id, "register_claim", "claims.clerk", _large_claim(days_earlier=1))
    assert _open_tasks(live_site, after.id) == ["assess_amount"]  # the new rule: no survey below 500,000
    assert _open_tasks(live_site, before.id) == ["conduct_survey"]  # the claim started before: the old rule
    _complete(live_site, before.id, "conduct_survey", None,
              {"assessed_loss": 150000, "total_loss": False, "report": "hospital stay confirmed",
               "refer_to_siu": False})
    shown = instances.show_instance(rt, before.id, _actor(live_site, "adjuster"))
    _complete(live_site, before.id, "assess_amount", "adjuster",
              {"decision": "pay", "payable_amount": shown.data["suggestion"]["suggested_amount"], "note": "covered"})
    if _open_tasks(live_site, before.id) == ["approve_payout"]:
        _complete(live_site, before.id, "approve_payout", "claims.manager", {"approved": True, "reason": "ok"})
    assert instances.show_instance(rt, before.id, _actor(live_site, "auditor")).status == "completed"

    page.goto(f"{live_site.url}/studio/claims/diff?from=1&to=2")
    row = page.locator('#changes tr[data-element="flow_survey_needed"]')
    expect(row).to_contain_text(NEW_CONDITION)
    expect(page.locator('#changes tr.change')).to_have_count(1)
    expect(page.locator('#diff-new .djs-element.if-changed[data-element-id="flow_survey_needed"]')).to_have_count(1)


def test_a_lane_with_an_unknown_role_is_named_and_marked_on_the_canvas(live_site: LiveSite, page: Page) -> None:
    _open_editor(live_site, page)
    _select(page, "lane_siu")
    page.click('[data-group-id="group-general"] .bio-properties-panel-group-header')
    name = page.locator("#bio-properties-panel-name")
    name.fill("Wizards")
    expect(page.locator("#bio-properties-panel-laneRole")).to_have_value("wizards")
    page.click("#validate-draft")
    problem = page.locator('#problem-list .problem-engine[data-element="lane_siu"]')
    expect(problem).to_contain_text("'wizards' is not a known role")
    expect(page.locator('#modeler .djs-element.if-problem[data-element-id="lane_siu"]')).to_have_count(1)
    page.fill("#deploy-comment", "should not deploy")
    page.click("#deploy-button")
    expect(page.locator("#draft-status")).to_contain_text("Fix the problems before deploying.")
    assert page.url.endswith("/studio/claims/edit")
