"""An analyst's whole change in a real browser: raise the claims approval limit in the decision table and
change the gateway that reads it, dry-run a scenario that takes the changed path and see the path on the
canvas, deploy with a comment, dry-run the move of the waiting claims from version 1 to 2, move the one
that can move — and the moved claim then finishes on the new version with a consistent replay."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from engine.audit.replay import replay_instance
from engine.workflow import instances
from engine.workflow.actors import OPERATOR
from tests.browser.conftest import LiveSite
from tests.e2e.test_ui_studio_dry_run import _actor, _complete, claims_waiting, notice, pinned

NEW_CONDITION = "payable_amount >= approval_limit"
# The suggestion (68,000 claimed less the 500 deductible): more would need the claims manager whatever the limit.
ASSESSED = {"decision": "pay", "payable_amount": 67500, "note": "covered in full"}


def _select(page: Page, element_id: str) -> None:
    page.fill("#element-search", element_id)
    page.dispatch_event("#element-search", "change")
    expect(page.locator(f'.djs-element.selected[data-element-id="{element_id}"]')).to_have_count(1)


def _raise_the_limit(page: Page) -> None:
    """The decision table tab: every claim type but outpatient may be settled up to 100,000 by the adjuster."""
    page.click("#tab-dmn-button")
    expect(page.locator("#dmn-modeler.dmn-ready")).to_have_count(1)
    page.select_option("#dmn-file", "approval_limits.dmn")
    expect(page.locator('#dmn-modeler[data-file="approval_limits.dmn"]')).to_have_count(1)
    cell = page.locator("#dmn-modeler td.output-cell").filter(has_text=re.compile(r"^\s*50000\s*$"))
    expect(cell).to_have_count(1)
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("100000")
    expect(page.locator("#dmn-modeler td.output-cell").filter(has_text="100000")).to_have_count(1)


def _change_the_condition(page: Page) -> None:
    page.click("#tab-diagram-button")
    _select(page, "flow_above_limit")
    condition = page.locator("#bio-properties-panel-condition")
    expect(condition).to_have_value("payable_amount > approval_limit")
    condition.fill(NEW_CONDITION)


def _add_answer(page: Page, number: int, task: str, data: dict) -> None:
    page.click("#add-task-step")
    step = page.locator("#scenario-steps .scenario-step").nth(number)
    step.locator(".step-target").select_option(task)
    step.locator(".step-data").fill(json.dumps(data))


def _dry_run(page: Page) -> None:
    """A 68,000 hospital claim: within the new limit, so it is paid without the claims manager."""
    page.click("#tab-dry-run-button")
    expect(page.locator("#tab-dry-run.dry-run-ready")).to_have_count(1)
    _add_answer(page, 0, "register_claim", notice(17))
    _add_answer(page, 1, "assess_amount", ASSESSED)
    page.fill("#scenario-name", "68,000 within the new limit")
    page.click("#scenario-save")
    expect(page.locator("#scenario-status")).to_have_text("Saved as 68,000 within the new limit.")
    page.click("#run-dry-run")
    expect(page.locator('#dry-run-result[data-status="completed"]')).to_be_visible()
    expect(page.locator("#dry-run-status")).to_have_text("Completed: the process reached its end.")
    expect(page.locator('#dry-run-tasks tr[data-task="assess_amount"] .answer')).to_contain_text("67500")
    expect(page.locator('#dry-run-path li[data-element="svc_pay_claim"]')).to_have_count(1)
    expect(page.locator('#dry-run-path li[data-element="approve_payout"]')).to_have_count(0)

    page.click("#show-path")
    for element in ("register_claim", "assess_amount", "gw_above_limit", "svc_pay_claim", "end_paid"):
        expect(page.locator(f'#modeler .djs-element.if-done[data-element-id="{element}"]')).to_be_visible()
    expect(page.locator('#modeler .djs-element.if-done[data-element-id="approve_payout"]')).to_have_count(0)


def _markers_go_when_the_diagram_changes(page: Page) -> None:
    """Undoing and redoing the condition change is a change of the diagram: the dry run's path no longer
    describes it, so its markers go (the diagram ends as it was)."""
    page.evaluate("() => { const stack = window.InsureFlowEditor.modeler.get('commandStack'); stack.undo(); "
                  "stack.redo(); }")
    expect(page.locator("#modeler .djs-element.if-done")).to_have_count(0)
    _select(page, "flow_above_limit")
    expect(page.locator("#bio-properties-panel-condition")).to_have_value(NEW_CONDITION)


def test_an_analyst_changes_the_approval_limit_dry_runs_deploys_and_moves_the_waiting_claims(
        live_site: LiveSite, page: Page) -> None:
    rt = live_site.wired.runtime
    movable, stays = claims_waiting(live_site)  # at the assessment / at the manager's approval

    live_site.sign_in(page, "analyst")
    page.goto(f"{live_site.url}/studio/claims/edit")
    expect(page.locator("#modeler.modeler-ready")).to_be_visible()
    _raise_the_limit(page)
    _change_the_condition(page)
    _dry_run(page)
    _markers_go_when_the_diagram_changes(page)

    page.fill("#deploy-comment", "adjusters settle up to 100,000")
    page.click("#deploy-button")
    page.wait_for_url(f"{live_site.url}/studio/claims/versions/2")
    expect(page.locator("#version-facts")).to_contain_text("adjusters settle up to 100,000")

    page.goto(f"{live_site.url}/studio/")
    page.click("#process-claims .migrate-process")
    expect(page.locator("#migrate-from option:checked")).to_contain_text("v1")
    expect(page.locator("#migrate-to option:checked")).to_contain_text("v2")
    page.click("#plan-button")
    expect(page.locator(f'#migration-plan tr[data-instance="{movable}"] .outcome')).to_have_text("can move")
    blocked = page.locator(f'#migration-plan tr[data-instance="{stays}"]')
    expect(blocked.locator(".outcome")).to_have_text("cannot move")
    expect(blocked.locator(".reasons")).to_contain_text("task 'Look up approval limit' was changed")
    expect(blocked.locator(".reasons")).to_contain_text("task 'Above the approval limit?' was changed")

    page.click("#migrate-button")
    moved = page.locator(f'#migration-result tr[data-instance="{movable}"]')
    expect(moved.locator(".outcome")).to_have_text("moved")
    expect(page.locator(f'#migration-result tr[data-instance="{stays}"]')).to_have_count(0)
    moved.locator(f'a[href="/cases/{movable}"]').click()
    page.wait_for_url(f"{live_site.url}/cases/{movable}")

    old = pinned(live_site, stays)
    assert pinned(live_site, movable) != old
    _complete(live_site, movable, "assess_amount", "adjuster", ASSESSED)  # within 100,000: no manager
    assert instances.show_instance(rt, movable, _actor(live_site, "auditor")).status == "completed"
    replayed = replay_instance(rt, movable, OPERATOR)
    assert replayed.consistent, str(replayed)


def test_a_bad_scenario_is_named_and_a_saved_one_is_loaded_again_and_deleted(live_site: LiveSite, page: Page) -> None:
    live_site.sign_in(page, "analyst")
    page.goto(f"{live_site.url}/studio/claims/edit")
    expect(page.locator("#modeler.modeler-ready")).to_be_visible()
    page.click("#tab-dry-run-button")
    expect(page.locator("#tab-dry-run.dry-run-ready")).to_have_count(1)
    page.fill("#scenario-data", "{not json")
    page.click("#run-dry-run")
    expect(page.locator("#scenario-error")).to_contain_text("Initial data: Not valid JSON")
    expect(page.locator("#dry-run-result")).to_be_hidden()

    page.fill("#scenario-data", "{}")
    _add_answer(page, 0, "register_claim", {"policy_number": 5})
    page.click("#run-dry-run")
    expect(page.locator('#dry-run-result[data-status="invalid_answer"]')).to_be_visible()
    expect(page.locator("#dry-run-status")).to_contain_text("Stopped because the answer for")
    expect(page.locator('#dry-run-tasks tr[data-task="register_claim"] .field-errors div')).not_to_have_count(0)
    page.fill("#scenario-name", "a wrong answer")
    page.click("#scenario-save")
    expect(page.locator("#scenario-status")).to_have_text("Saved as a wrong answer.")

    page.reload()
    page.click("#tab-dry-run-button")
    expect(page.locator("#tab-dry-run.dry-run-ready")).to_have_count(1)
    page.select_option("#scenario-saved", label="a wrong answer")
    expect(page.locator("#scenario-steps .scenario-step .step-target")).to_have_value("register_claim")
    expect(page.locator("#scenario-name")).to_have_value("a wrong answer")
    page.click("#scenario-delete")
    expect(page.locator("#scenario-status")).to_have_text("Deleted a wrong answer.")
    expect(page.locator("#scenario-saved option", has_text="a wrong answer")).to_have_count(0)
