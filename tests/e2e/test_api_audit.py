"""The API's audit side: an instance's history (JSON and CSV, masked by role), replay, the hash-chain check."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, update

from engine.workflow.models import EventModel
from services.demo.data import demo_identity
from tests.e2e.api_support import Caller, demo_task, error, ok, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]


@pytest.fixture(scope="module")
def callers(shared_site: Site) -> dict[str, Caller]:
    return {name: Caller(shared_site, name) for name in ["auditor", "admin", "claims.clerk", "agent", "adjuster"]}


@pytest.fixture(scope="module")
def case(shared_site: Site) -> int:
    """The demo claim waiting for the payout approval: registered by the clerk, assessed by the adjuster."""
    return demo_task(shared_site, "approve_payout")[1]


def test_history_lists_the_events_in_order_paged_with_personal_data_masked_for_an_auditor(
        callers: dict[str, Caller], case: int) -> None:
    body = ok(callers["auditor"].get(f"/api/instances/{case}/history?page_size=100"))
    events = body["items"]
    assert body["total"] == len(events) > 3 and [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "instance_started" and events[0]["actor"] == "claims.clerk"
    registered = next(e for e in events if e["type"] == "task_completed" and e["task"] == "register_claim")
    assert registered["payload"]["data"]["claimant_id_number"] == "••••" + demo_identity(0)[1][-4:]
    assert all(len(e["hash"]) == 64 for e in events)
    second = ok(callers["auditor"].get(f"/api/instances/{case}/history?page_size=2&page=2"))
    assert [e["seq"] for e in second["items"]] == [3, 4] and second["total"] == body["total"]


def test_history_shows_personal_data_in_clear_only_to_whoever_holds_a_step_of_the_case_now(
        shared_site: Site, callers: dict[str, Caller], case: int) -> None:
    def registered_id(instance: int) -> str:
        events = ok(callers["claims.clerk"].get(f"/api/instances/{instance}/history?page_size=100"))["items"]
        registered = next(e for e in events if e["task"] == "register_claim" and e["type"] == "task_completed")
        return registered["payload"]["data"]["claimant_id_number"]

    # The clerk registered the claim waiting for approval but holds none of its steps now (need to know).
    assert registered_id(case) == "••••" + demo_identity(0)[1][-4:]
    # A claim whose documents step is offered to the claims clerks: the clerk holds it, and sees it in clear.
    shown = registered_id(demo_task(shared_site, "request_documents")[1])
    assert not shown.startswith("••••") and len(shown) == 18


def test_history_as_csv_has_a_header_row_and_one_row_per_event(callers: dict[str, Caller], case: int) -> None:
    response = callers["auditor"].get(f"/api/instances/{case}/history?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"instance-{case}-history.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["seq", "at", "type", "actor", "task", "payload", "hash"]
    total = ok(callers["auditor"].get(f"/api/instances/{case}/history"))["total"]
    assert [int(r[0]) for r in rows[1:]] == list(range(1, total + 1))
    text = response.get_data(as_text=True)
    assert demo_identity(0)[1] not in text and "••••" + demo_identity(0)[1][-4:] in text


def test_history_of_a_case_the_caller_has_no_part_in_is_403_and_of_no_case_404(callers: dict[str, Caller],
                                                                               case: int) -> None:
    assert error(callers["agent"].get(f"/api/instances/{case}/history"), 403)["code"] == "forbidden"
    assert error(callers["auditor"].get("/api/instances/99999/history"), 404)["code"] == "not_found"


def test_an_unknown_history_format_is_422(callers: dict[str, Caller], case: int) -> None:
    assert "format" in error(callers["auditor"].get(f"/api/instances/{case}/history?format=xml"), 422)["details"][
        "fields"]


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_replay_shows_the_recorded_history_is_consistent(callers: dict[str, Caller], case: int, who: str) -> None:
    body = ok(callers[who].post(f"/api/instances/{case}/replay"))
    assert body["consistent"] is True and body["steps"] >= 2 and body["instance_id"] == case
    assert body["seq"] is None and body["reason"] is None


def test_replay_is_refused_to_staff_and_of_no_case_404(callers: dict[str, Caller], case: int) -> None:
    assert error(callers["claims.clerk"].post(f"/api/instances/{case}/replay"), 403)["code"] == "forbidden"
    assert error(callers["auditor"].post("/api/instances/99999/replay"), 404)["code"] == "not_found"


def test_verify_finds_every_chain_intact(callers: dict[str, Caller]) -> None:
    body = ok(callers["auditor"].get("/api/audit/verify"))
    assert body["ok"] is True and body["breaks"] == [] and body["instances"] >= 9 and body["events"] > body["instances"]


def test_verify_is_refused_to_staff(callers: dict[str, Caller]) -> None:
    assert error(callers["claims.clerk"].get("/api/audit/verify"), 403)["code"] == "forbidden"


def test_an_edited_event_breaks_verify_and_replay_names_the_step(shared_site: Site, callers: dict[str, Caller],
                                                                 case: int) -> None:
    rt = shared_site.wired.runtime
    with rt.uow() as uow:
        event = uow.session.scalar(select(EventModel).where(EventModel.instance_id == case, EventModel.seq == 2))
        original = event.payload
        uow.session.execute(update(EventModel).where(EventModel.id == event.id).values(
            payload=original.replace('"claim_type":"hospitalization"', '"claim_type":"outpatient"')))
        uow.commit()
    try:
        verified = ok(callers["auditor"].get("/api/audit/verify"))
        assert verified["ok"] is False
        assert verified["breaks"] == [{"instance": case, "seq": 2, "event_id": event.id,
                                       "reason": "content altered (hash mismatch)"}]
        replayed = ok(callers["auditor"].post(f"/api/instances/{case}/replay"))
        assert replayed["consistent"] is False and replayed["seq"] is not None and replayed["reason"]
    finally:
        with rt.uow() as uow:
            uow.session.execute(update(EventModel).where(EventModel.id == event.id).values(payload=original))
            uow.commit()
    assert ok(callers["auditor"].get("/api/audit/verify"))["ok"] is True
