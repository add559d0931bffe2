"""The auditor's pages: search, a case's audit page (timeline, step slider, checks, exports), revealing personal
data, the whole-database check — for auditors and admins only, and nothing in the UI lets an auditor change a case."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from engine.errors import ForbiddenError
from engine.workflow import task_service
from engine.workflow.actors import actor_for
from engine.workflow.models import DeploymentModel, EventModel, HumanTaskModel, InstanceModel, UserModel
from services.demo.data import demo_identity
from tasks.common import BUSINESS_TZ
from tests.e2e.api_support import demo_task, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]
_NAME, ID_NUMBER, _PHONE = demo_identity(0)
MASKED = "••••" + ID_NUMBER[-4:]
STAFF = ["claims.clerk", "adjuster", "claims.manager", "analyst", "agent", "finance"]


def _client(site: Site, user: str) -> FlaskClient:
    client = site.signed_in(user)
    client.post("/language", data={"lang": "en"})
    return client


def pay_demo_claim(site: Site) -> tuple[int, str]:
    """The demo claim waiting for approval, approved and paid; (instance id, claim number)."""
    rt = site.wired.runtime
    task_id, case = demo_task(site, "approve_payout")
    with rt.uow() as uow:
        manager = actor_for(uow, "claims.manager")
    task_service.complete(rt, task_id, manager, {"approved": True, "reason": "documents complete"})
    with rt.uow() as uow:
        key = uow.session.scalar(select(InstanceModel.business_key).where(InstanceModel.id == case))
    return case, key


@pytest.fixture(scope="module")
def paid(shared_site: Site) -> tuple[int, str]:
    return pay_demo_claim(shared_site)


def _events(site: Site, case: int) -> list[tuple[str, str | None]]:
    with site.wired.runtime.uow() as uow:
        return [(e.type, e.actor) for e in uow.session.scalars(
            select(EventModel).where(EventModel.instance_id == case).order_by(EventModel.seq))]


@pytest.mark.parametrize("user", ["auditor", "admin"])
def test_auditors_and_admins_find_a_case_by_its_number_from_the_menu(shared_site: Site, paid: tuple[int, str],
                                                                      user: str) -> None:
    case, key = paid
    client = _client(shared_site, user)
    assert 'href="/audit/"' in client.get("/").get_data(as_text=True)
    page = client.get(f"/audit/?key={key[:-3]}").get_data(as_text=True)
    assert f'href="/audit/cases/{case}">{key}</a>' in page
    found = client.get(f"/audit/?key={key}").get_data(as_text=True)
    assert "1 cases found" in found and found.count('href="/audit/cases/') == 1


def test_search_by_person_status_and_start_dates(shared_site: Site, paid: tuple[int, str]) -> None:
    case, _key = paid
    client = _client(shared_site, "auditor")
    page = client.get("/audit/?person=claims.manager&status=completed&process=claims").get_data(as_text=True)
    assert f'href="/audit/cases/{case}"' in page and "1 cases found" in page
    # the search's days are the insurer's (Beijing) days, not UTC's: between 16:00 and 24:00 UTC they differ
    today = shared_site.wired.runtime.clock().astimezone(BUSINESS_TZ).date().isoformat()
    assert f'href="/audit/cases/{case}"' in client.get(f"/audit/?from={today}&to={today}").get_data(as_text=True)
    assert "0 cases found" in client.get("/audit/?from=2000-01-01&to=2000-01-02").get_data(as_text=True)


def test_a_malformed_date_is_refused_with_the_field_marked_and_the_input_kept(shared_site: Site) -> None:
    response = _client(shared_site, "auditor").get("/audit/?from=31.12.2026&person=agent")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Enter a date as YYYY-MM-DD." in page
    assert 'value="31.12.2026"' in page and 'value="agent"' in page


@pytest.mark.parametrize("user", STAFF)
def test_staff_get_403_on_every_audit_page_and_see_no_audit_menu(shared_site: Site, paid: tuple[int, str],
                                                                 user: str) -> None:
    case, _key = paid
    client = _client(shared_site, user)
    assert 'href="/audit/"' not in client.get("/").get_data(as_text=True)
    for path in ("/audit/", f"/audit/cases/{case}"):
        assert client.get(path).status_code == 403, path
    for path in (f"/audit/cases/{case}/verify", f"/audit/cases/{case}/replay", "/audit/verify", "/audit/checkpoint"):
        assert client.post(path).status_code == 403, path
    assert client.post(f"/audit/cases/{case}/unmask", data={"reason": "curious"}).status_code == 403
    assert ("data_unmasked", user) not in _events(shared_site, case)


def test_the_case_page_shows_the_timeline_slider_and_masked_data(shared_site: Site, paid: tuple[int, str]) -> None:
    case, key = paid
    response = _client(shared_site, "auditor").get(f"/audit/cases/{case}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f"Claims · {key}" in page
    steps = json.loads(page.split('<script type="application/json" id="step-data">')[1].split("</script>")[0])
    # registration, assessment, approval (with the payment's intent), the bank's answer
    assert [s["number"] for s in steps] == [1, 2, 3, 4, 5] and f'max="{len(steps)}"' in page
    assert steps[0]["active"] == ["register_claim"] and "svc_pay_claim" in steps[-1]["path"]
    assert page.count('class="step-panel"') == 5 and "Case data after this step" in page
    assert "Completed</span> — Assess amount" in page
    assert 'Payable amount (CNY): <span class="text-body">— → ¥59,500.00</span>' in page  # before → after
    assert 'operation: <span class="text-body">verify_claim</span>' in page and "Verified: Yes" in page
    assert ID_NUMBER not in page and MASKED in page
    assert 'id="verify-chain"' in page and 'id="replay"' in page and 'id="unmask-form"' not in page
    for export in ("format=html", "format=pdf", "format=json", "history?format=csv"):
        assert export in page


def test_verify_and_replay_buttons_answer_in_plain_words(shared_site: Site, paid: tuple[int, str]) -> None:
    case, _key = paid
    client = _client(shared_site, "auditor")
    total = len(_events(shared_site, case))
    verified = client.post(f"/audit/cases/{case}/verify").get_data(as_text=True)
    assert f"The history is intact: all {total} events are linked" in verified
    replayed = client.post(f"/audit/cases/{case}/replay").get_data(as_text=True)
    assert "all 5 steps give exactly the recorded state" in replayed


def test_an_edited_event_is_named_in_words_by_the_verify_button(shared_site: Site, paid: tuple[int, str]) -> None:
    case, _key = paid
    rt = shared_site.wired.runtime
    with rt.uow() as uow:
        event = uow.session.scalar(select(EventModel).where(EventModel.instance_id == case, EventModel.seq == 2))
        original = event.payload
        uow.session.execute(update(EventModel).where(EventModel.id == event.id).values(
            payload=original.replace("hospitalization", "outpatient")))
        uow.commit()
    try:
        client = _client(shared_site, "auditor")
        page = client.post(f"/audit/cases/{case}/verify").get_data(as_text=True)
        assert "The history or its diagram was altered." in page
        assert "Event #2: its content was changed after it was recorded" in page
        whole = client.post("/audit/verify").get_data(as_text=True)
        assert f"Case {case}, event #2: its content was changed after it was recorded" in whole
        assert "Replay disagrees with the history" in client.post(f"/audit/cases/{case}/replay").get_data(
            as_text=True)
    finally:
        with rt.uow() as uow:
            uow.session.execute(update(EventModel).where(EventModel.id == event.id).values(payload=original))
            uow.commit()
    assert "Everything is intact" in _client(shared_site, "auditor").post("/audit/verify").get_data(as_text=True)


def test_the_whole_database_check_and_a_checkpoint_round_trip_on_the_search_page(shared_site: Site) -> None:
    client = _client(shared_site, "auditor")
    assert "Everything is intact" in client.post("/audit/verify").get_data(as_text=True)
    checkpoint = client.get("/api/audit/checkpoint")
    assert checkpoint.status_code == 200 and "attachment" in checkpoint.headers["Content-Disposition"]
    upload = {"checkpoint": (io.BytesIO(checkpoint.data), "checkpoint.json")}
    page = client.post("/audit/checkpoint", data=upload, content_type="multipart/form-data").get_data(as_text=True)
    assert "checks out" in page
    bad = client.post("/audit/checkpoint", data={"checkpoint": (io.BytesIO(b"{}"), "x.json")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "not an InsureFlow checkpoint" in bad.get_data(as_text=True)


def test_revealing_personal_data_needs_the_permission_and_a_reason_and_is_recorded(site: Site) -> None:
    case, _key = pay_demo_claim(site)
    client = _client(site, "auditor")
    page = client.get(f"/audit/cases/{case}").get_data(as_text=True)
    assert 'id="unmask-form"' not in page and "needs a separate permission" in page
    assert client.post(f"/audit/cases/{case}/unmask", data={"reason": "complaint"}).status_code == 403
    with site.wired.runtime.uow() as uow:
        uow.session.execute(update(UserModel).where(UserModel.username == "auditor").values(may_unmask=True))
        uow.commit()
    assert 'id="unmask-form"' in client.get(f"/audit/cases/{case}").get_data(as_text=True)
    refused = client.post(f"/audit/cases/{case}/unmask", data={"reason": "  "})
    assert refused.status_code == 422 and "Give a reason" in refused.get_data(as_text=True)
    assert ("data_unmasked", "auditor") not in _events(site, case)
    shown = client.post(f"/audit/cases/{case}/unmask", data={"reason": "complaint 42"})
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200 and ID_NUMBER in page and "recorded in the case history" in page
    assert _events(site, case)[-1] == ("data_unmasked", "auditor")
    again = client.get(f"/audit/cases/{case}").get_data(as_text=True)
    assert ID_NUMBER not in again and "Personal data revealed" in again and "complaint 42" in again
    assert "The history is intact" in client.post(f"/audit/cases/{case}/verify").get_data(as_text=True)
    assert "all 5 steps give exactly" in client.post(f"/audit/cases/{case}/replay").get_data(as_text=True)


def _snapshot(site: Site) -> dict[str, Any]:
    with site.wired.runtime.uow() as uow:
        s = uow.session
        return {
            "instances": s.scalar(select(func.count(InstanceModel.id))),
            "versions": sorted(s.execute(select(InstanceModel.id, InstanceModel.version)).all()),
            "events": s.scalar(select(func.count(EventModel.id))),
            "tasks": sorted(s.execute(select(HumanTaskModel.id, HumanTaskModel.status, HumanTaskModel.assignee)).all()),
            "deployments": s.scalar(select(func.count(DeploymentModel.id))),
            "users": sorted(s.execute(select(UserModel.username, UserModel.active)).all()),
        }


def test_the_auditor_cannot_change_anything_through_the_ui(shared_site: Site) -> None:
    site = shared_site
    open_task, _case = demo_task(site, "assess_amount")
    before = _snapshot(site)
    client = _client(site, "auditor")
    attempts = {
        "start a claim": client.post("/start/claims"),
        "complete a task": client.post(f"/tasks/{open_task}", data={"payable_amount": "1", "note": "x"}),
        "add a user": client.post("/admin/users/new", data={"username": "mallory", "roles": "admin"}),
    }
    refused = {what: r.status_code for what, r in attempts.items()}
    assert refused == dict.fromkeys(attempts, 403), refused
    # The inbox answers a refused claim, release or reassignment with a redirect and a warning, never success.
    for action, data in (("claim", {}), ("release", {}), ("assign", {"to": "adjuster"})):
        page = client.post(f"/tasks/{open_task}/{action}", data=data, follow_redirects=True).get_data(as_text=True)
        assert "alert-success" not in page and ("alert-danger" in page or "alert-warning" in page), action
    # The studio lets the engine's refusal through as an exception (a 500 page) instead of a 403: still refused.
    for path in ("/studio/upload", "/studio/claims/deploy"):
        try:
            status = client.post(path, data={"action": "deploy", "files": (io.BytesIO(b"<x/>"), "x.bpmn")},
                                 content_type="multipart/form-data").status_code
        except ForbiddenError:
            status = 403
        assert status in (403, 500), (path, status)
    assert _snapshot(site) == before
