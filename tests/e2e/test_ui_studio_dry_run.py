"""The studio's dry-run panel and migration page over HTTP: the editor hands the panel its dry-run and
scenario addresses, a dry run started from the studio never reaches the real payment gateway, and the
migration page dry-runs, moves only what it said can move, reports a case changed meanwhile as a
conflict, refuses bad input — analysts and administrators only, forms with CSRF."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.workflow import deployments, instances, task_service
from engine.workflow.actors import OPERATOR, Actor, actor_for
from engine.workflow.models import HumanTaskModel, InstanceModel
from services.demo import demo_password
from tasks.payment_gateway import GatewayAnswer
from tasks.services import DomainServices
from tests.e2e.api_support import shared_site
from tests.e2e.conftest import Site
from tests.e2e.test_api_claim_flow import first_notice
from tests.e2e.test_ui_studio import NOT_ANALYSTS, _setup
from tests.integration.test_migration import LIMIT_RULE, bpmn_files
from webui import create_app

# The new version's adjuster limit: a 68,000 claim no longer needs the claims manager.
NEW_LIMIT = b"<text>100000</text>"
# The adjuster pays the suggestion (68,000 claimed less the 500 deductible): no more, or the manager must approve.
SUGGESTED = {"decision": "pay", "payable_amount": 67500, "note": "covered"}

__all__ = ["shared_site"]


def _english(site: Site, user: str = "analyst") -> FlaskClient:
    client = site.signed_in(user)
    client.post("/language", data={"lang": "en"})
    return client


def _actor(site: Site, username: str) -> Actor:
    with site.wired.runtime.uow() as uow:
        return actor_for(uow, username)


def _complete(site: Site, instance_id: int, task_key: str, username: str, data: dict[str, Any]) -> None:
    with site.wired.runtime.uow() as uow:
        task_id = uow.session.scalar(select(HumanTaskModel.id).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.task_key == task_key,
            HumanTaskModel.status == "open"))
    task_service.complete(site.wired.runtime, task_id, _actor(site, username), data)


def notice(days_ago: int) -> dict[str, Any]:
    """The demo's hospital claim on PDEMO0001 for an incident `days_ago` days back: each incident date a
    claim of its own (never a duplicate), and more than 10 days back only the demo's claim of 20 days ago
    counts as an earlier one (fraud screening says "low": no survey)."""
    data = first_notice()
    data["incident_date"] = (date.fromisoformat(data["incident_date"]) - timedelta(days=days_ago - 8)).isoformat()
    return data


def claims_waiting(site: Site) -> tuple[int, int]:
    """Two claims on the deployed version: one waiting at the assessment (nothing it did will change),
    one at the manager's approval (it passed the approval-limit look-up, which will change)."""
    rt = site.wired.runtime
    at_assessment = instances.start_instance(rt, "claims", {}, _actor(site, "claims.clerk")).id
    _complete(site, at_assessment, "register_claim", "claims.clerk", notice(16))
    at_approval = instances.start_instance(rt, "claims", {}, _actor(site, "claims.clerk")).id
    _complete(site, at_approval, "register_claim", "claims.clerk", notice(15))
    _complete(site, at_approval, "assess_amount", "adjuster", SUGGESTED)
    return at_assessment, at_approval


def deploy_higher_limit(site: Site) -> tuple[int, int]:
    """Deploy claims v2 with a higher approval limit; (v1's deployment, v2's deployment)."""
    rt = site.wired.runtime
    old = deployments.list_versions(rt, "claims")[0].deployment_id
    deployments.deploy(rt, bpmn_files(approval_limits__dmn=(LIMIT_RULE, NEW_LIMIT)), OPERATOR, "higher limit")
    new = deployments.list_versions(rt, "claims")[0].deployment_id
    assert new != old
    return old, new


def rows(page: str) -> dict[int, tuple[str, str]]:
    """instance id → (outcome, reasons text) of the migration page's table."""
    found = {}
    for match in re.finditer(r'<tr class="migration-instance" data-instance="(\d+)" data-outcome="([^"]+)">(.*?)</tr>',
                             page, re.S):
        reasons = re.search(r'<td class="small reasons">(.*?)</td>', match.group(3), re.S).group(1)
        found[int(match.group(1))] = (match.group(2), re.sub(r"<[^>]+>", " ", reasons).strip())
    return found


def moves(page: str) -> list[str]:
    """The `move` fields of the page's migrate form."""
    return re.findall(r'name="move" value="([^"]+)"', page)


def pinned(site: Site, instance_id: int) -> int:
    with site.wired.runtime.uow() as uow:
        return uow.session.get(InstanceModel, instance_id).deployment_id


def test_the_editor_gives_the_dry_run_panel_its_addresses_and_tab(site: Site) -> None:
    page = _english(site).get("/studio/claims/edit").get_data(as_text=True)
    urls = _setup(page)["urls"]
    assert urls["dryRun"] == "/api/dry-runs" and urls["scenarios"] == "/api/processes/claims/scenarios"
    assert 'id="tab-dry-run"' in page and "js/studio_dry_run.js" in page
    texts = json.loads(re.search(r'<script type="application/json" id="dry-run-texts">(.*?)</script>', page, re.S)[1])
    assert texts["completed"] == "Completed: the process reached its end."
    chinese = site.signed_in("analyst").get("/studio/claims/edit").get_data(as_text=True)
    assert "试运行" in chinese and "经过的路径" in chinese


class RefusingGateway:
    """A real gateway that must never be reached by a dry run."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pay(self, key: str, amount: Decimal, account: str, purpose: str) -> GatewayAnswer:
        self.calls.append(key)
        return GatewayAnswer(False, reason="a dry run reached the real gateway")

    def status(self, key: str) -> GatewayAnswer | None:
        self.calls.append(key)
        return None


def test_a_dry_run_of_the_draft_pays_through_a_simulated_gateway_never_the_real_one(site: Site) -> None:
    rt = site.wired.runtime
    real = RefusingGateway()
    rt.services = DomainServices(cipher=rt.services.cipher, gateway=real)
    client = _english(site)
    files = _setup(client.get("/studio/claims/edit").get_data(as_text=True))["files"]
    files["approval_limits.dmn"] = files["approval_limits.dmn"].replace(LIMIT_RULE.decode(), NEW_LIMIT.decode())
    scenario = {"process": "claims", "steps": [
        {"task": "register_claim", "data": first_notice()},
        {"task": "assess_amount", "data": SUGGESTED}]}
    response = client.post(_setup(client.get("/studio/claims/edit").get_data(as_text=True))["urls"]["dryRun"], data={
        "files": [(io.BytesIO(text.encode()), name) for name, text in files.items()],
        "scenario": json.dumps(scenario)}, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    result = response.get_json()
    assert result["status"] == "completed", result["reason"]
    path = [p["element"] for p in result["path"]]
    assert "svc_pay_claim" in path and "approve_payout" not in path  # the draft's higher limit
    paid = next(h for h in result["handlers"] if h["operator"] == "pay_claim")
    assert paid["result"]["status"] == "accepted" and paid["result"]["gateway_ref"].startswith("SIM-")
    assert real.calls == []
    assert result["data"]["payee_account"] != first_notice()["payee_account"]  # masked for an analyst


def test_the_dry_run_lists_every_waiting_claim_and_only_those_that_can_move_are_moved(site: Site) -> None:
    at_assessment, at_approval = claims_waiting(site)
    old, new = deploy_higher_limit(site)
    client = _english(site)
    form = client.get("/studio/claims/migrate").get_data(as_text=True)
    assert f'<option value="{old}" selected>v1' in form and f'<option value="{new}" selected>v2' in form

    plan = client.post("/studio/claims/migrate", data={"action": "dry_run", "from": old, "to": new})
    assert plan.status_code == 200
    page = plan.get_data(as_text=True)
    listed = rows(page)
    with site.wired.runtime.uow() as uow:
        waiting = set(uow.session.scalars(select(InstanceModel.id).where(
            InstanceModel.deployment_id == old, InstanceModel.process_key == "claims",
            InstanceModel.status.in_(("running", "waiting", "incident")))))
    assert set(listed) == waiting
    assert listed[at_assessment] == ("can migrate", "—")
    outcome, reasons = listed[at_approval]
    assert outcome == "cannot migrate"
    assert "task &#39;Look up approval limit&#39; was changed (decision table) after it ran" in reasons
    assert "can move" in page and "cannot move" in page
    can = [i for i, (o, _r) in listed.items() if o == "can migrate"]
    assert f"Move the {len(can)} that can move" in page
    assert pinned(site, at_assessment) == old  # a dry run moves nothing

    done = client.post("/studio/claims/migrate", data={"action": "migrate", "from": old, "to": new,
                                                       "move": moves(page)})
    assert done.status_code == 200
    result = done.get_data(as_text=True)
    assert {i: o for i, (o, _r) in rows(result).items()} == {i: "migrated" for i in can}
    assert f'href="/cases/{at_assessment}"' in result
    assert f"{len(can)} of {len(can)} cases moved." in result
    assert pinned(site, at_assessment) == new and pinned(site, at_approval) == old
    # The moved claim goes on under the new limit: 67,500 (the suggestion) is paid without the manager.
    _complete(site, at_assessment, "assess_amount", "adjuster", SUGGESTED)
    assert instances.show_instance(site.wired.runtime, at_assessment, _actor(site, "auditor")).status == "completed"


def test_a_claim_changed_after_the_dry_run_is_reported_as_a_conflict_and_stays(site: Site) -> None:
    at_assessment, _at_approval = claims_waiting(site)
    old, new = deploy_higher_limit(site)
    client = _english(site)
    page = client.post("/studio/claims/migrate", data={"action": "dry_run", "from": old, "to": new}).get_data(
        as_text=True)
    seen = [m for m in moves(page) if m.startswith(f"{at_assessment}:")]
    assert seen
    with site.wired.runtime.uow() as uow:
        task_id = uow.session.scalar(select(HumanTaskModel.id).where(
            HumanTaskModel.instance_id == at_assessment, HumanTaskModel.status == "open"))
    task_service.claim(site.wired.runtime, task_id, _actor(site, "adjuster"))  # someone works on it meanwhile

    result = client.post("/studio/claims/migrate", data={"action": "migrate", "from": old, "to": new, "move": seen})
    text = result.get_data(as_text=True)
    outcome, reasons = rows(text)[at_assessment]
    assert outcome == "conflict" and "instance changed meanwhile" in reasons
    assert "changed meanwhile: not moved" in text and "run the dry run again" in text
    assert pinned(site, at_assessment) == old


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"action": "dry_run", "from": "one", "to": "1"}, 400, "Choose a version."),
    ({"action": "dry_run", "from": "1", "to": "1"}, 422, "the source and the target are the same deployment"),
    ({"action": "dry_run", "from": "1", "to": "999"}, 422, "there is no deployment 999"),
    ({"action": "migrate", "from": "1", "to": "2"}, 400, "Run the dry run again."),
    ({"action": "migrate", "from": "1", "to": "2", "move": "7:x"}, 400, "Run the dry run again."),
])
def test_bad_migration_requests_are_refused_with_a_clear_message_and_move_nothing(
        shared_studio: Site, data: dict[str, str], status: int, message: str) -> None:
    before = _pins(shared_studio)
    response = _english(shared_studio).post("/studio/claims/migrate", data=data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert _pins(shared_studio) == before


def _pins(site: Site) -> dict[int, int]:
    with site.wired.runtime.uow() as uow:
        return {row.id: row.deployment_id for row in uow.session.execute(
            select(InstanceModel.id, InstanceModel.deployment_id))}


def test_an_unknown_process_has_no_migration_page(shared_studio: Site) -> None:
    assert _english(shared_studio).get("/studio/nosuch/migrate").status_code == 404


@pytest.mark.parametrize("user", NOT_ANALYSTS)
def test_the_migration_page_is_forbidden_to_everyone_but_analysts(shared_studio: Site, user: str) -> None:
    client = shared_studio.signed_in(user)
    before = _pins(shared_studio)
    assert client.get("/studio/claims/migrate").status_code == 403
    for action in ("dry_run", "migrate"):
        response = client.post("/studio/claims/migrate", data={"action": action, "from": "1", "to": "2",
                                                                "move": "1:1"})
        assert response.status_code == 403
    assert _pins(shared_studio) == before


def test_administrators_may_use_the_migration_page(shared_studio: Site) -> None:
    page = _english(shared_studio, "admin").get("/studio/claims/migrate")
    assert page.status_code == 200 and 'id="plan-form"' in page.get_data(as_text=True)


def test_the_migration_forms_need_the_csrf_token(site: Site) -> None:
    at_assessment, _at_approval = claims_waiting(site)
    old, new = deploy_higher_limit(site)
    client = create_app(site.wired, {"TESTING": True}).test_client()  # CSRF on, as served
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login)[1]
    assert client.post("/login", data={"username": "analyst", "password": demo_password("analyst"),
                                       "csrf_token": token}).status_code == 302
    move = f"{at_assessment}:{_version(site, at_assessment)}"
    forged = {"action": "migrate", "from": old, "to": new, "move": move}
    assert client.post("/studio/claims/migrate", data=forged).status_code == 400
    assert client.post("/studio/claims/migrate", data={"action": "dry_run", "from": old, "to": new}).status_code == 400
    assert pinned(site, at_assessment) == old

    page = client.get("/studio/claims/migrate").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    plan = client.post("/studio/claims/migrate", data={"action": "dry_run", "from": old, "to": new,
                                                        "csrf_token": token}).get_data(as_text=True)
    assert re.search(r'id="migrate-form">\s*<input type="hidden" name="csrf_token"', plan)
    done = client.post("/studio/claims/migrate", data={**forged, "csrf_token": token})
    assert done.status_code == 200 and pinned(site, at_assessment) == new


def _version(site: Site, instance_id: int) -> int:
    with site.wired.runtime.uow() as uow:
        return uow.session.get(InstanceModel, instance_id).version


@pytest.fixture
def shared_studio(shared_site: Site) -> Site:
    """One demo site per database for the tests that change nothing."""
    return shared_site
