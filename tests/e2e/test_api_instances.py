"""The API's instances: start, list (auditors), show with data masked by role, deliver a message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from engine.identity.users import add_user
from engine.workflow.models import UserModel
from services.demo.story import _story_identity
from tasks.common import BUSINESS_TZ
from tests.e2e.api_support import Caller, demo_task, error, ok, open_task, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]

# The sale of services/demo/story.py, step by step: (task, form data).
SALE = [
    ("customer_registration", _story_identity()),
    ("needs_analysis", {"income": 360000, "dependents": 1, "existing_cover": 0, "goal": "medical",
                        "risk_tolerance": "low"}),
    ("present_quote", {"product_code": "MED01", "sum_insured": 300000, "term_years": 5}),
    ("application", {"product_line": "medical", "smoker": False, "height_cm": 165, "weight_kg": 56,
                     "chronic_disease": False,
                     "occupation_class": 1, "beneficiary_designation": "legal_heirs"}),
    ("accept_terms", {"accepted": True}),
    ("premium_payment", {"method": "transfer", "payer_name": "Sun Li 孙丽", "payer_account": "6222020200112233445"}),
    # the policyholder signs the policy receipt the day it is issued: the cooling-off period starts
    ("record_receipt", {"receipt_signed_on": datetime.now(BUSINESS_TZ).date().isoformat(), "receipt_form": "paper"}),
]


@pytest.fixture(scope="module")
def callers(shared_site: Site) -> dict[str, Caller]:
    names = ["agent", "claims.clerk", "claims.manager", "adjuster", "auditor", "admin"]
    return {name: Caller(shared_site, name) for name in names}


def approval_case(site: Site) -> int:
    """The demo claim waiting for the claims manager: started by the clerk, assessed by the adjuster."""
    return demo_task(site, "approve_payout")[1]


def test_starting_a_process_answers_201_with_the_instance_and_its_first_task(callers: dict[str, Caller]) -> None:
    body = ok(callers["agent"].post("/api/processes/sales/instances", json={"data": {}, "business_key": "API-S1"}),
              201)
    assert (body["process_key"], body["business_key"], body["started_by"]) == ("sales", "API-S1", "agent")
    assert [t["task"] for t in body["open_tasks"]] == ["customer_registration"]
    assert body["id"] > 0 and body["version"] >= 1 and "data" not in body


def test_a_user_without_the_start_lane_role_may_not_start(callers: dict[str, Caller]) -> None:
    assert error(callers["claims.clerk"].post("/api/processes/sales/instances", json={}), 403)["code"] == "forbidden"


def test_starting_an_unknown_process_is_404(callers: dict[str, Caller]) -> None:
    assert error(callers["agent"].post("/api/processes/no_such/instances", json={}), 404)["code"] == "not_found"


@pytest.mark.parametrize(("body", "field"), [
    ({"data": [1, 2]}, "data"), ({"data": "text"}, "data"), ({"business_key": 7}, "business_key"),
    ({"dta": {}}, "dta"),
])
def test_a_start_body_of_the_wrong_shape_is_422_naming_the_field(callers: dict[str, Caller], body: dict[str, Any],
                                                                field: str) -> None:
    problem = error(callers["agent"].post("/api/processes/sales/instances", json=body), 422)
    assert problem["code"] == "invalid_input" and field in problem["details"]["fields"]


def test_an_unparseable_json_body_is_400(callers: dict[str, Caller]) -> None:
    response = callers["agent"].post("/api/processes/sales/instances", data="{not json",
                                     content_type="application/json")
    assert error(response, 400)["code"] == "malformed"


def test_auditors_list_instances_newest_first_paged_and_filtered(callers: dict[str, Caller]) -> None:
    auditor = callers["auditor"]
    first = ok(auditor.get("/api/instances?page_size=2"))
    assert len(first["items"]) == 2 and first["total"] >= 9 and first["items"][0]["id"] > first["items"][1]["id"]
    claims = ok(auditor.get("/api/instances?process=claims&page_size=100"))
    assert claims["total"] >= 6 and {i["process_key"] for i in claims["items"]} == {"claims"}
    one = claims["items"][0]
    by_key = ok(auditor.get(f"/api/instances?business_key={one['business_key']}"))
    assert [i["id"] for i in by_key["items"]] == [one["id"]]
    assert ok(auditor.get("/api/instances?status=no_such_status"))["total"] == 0


def test_staff_may_not_list_every_instance(callers: dict[str, Caller]) -> None:
    assert error(callers["claims.clerk"].get("/api/instances"), 403)["code"] == "forbidden"


def test_instances_page_size_above_100_is_422(callers: dict[str, Caller]) -> None:
    assert "page_size" in error(callers["auditor"].get("/api/instances?page_size=500"), 422)["details"]["fields"]


def test_personal_data_is_in_clear_for_the_holder_of_a_step_and_masked_for_everyone_else(
        shared_site: Site, callers: dict[str, Caller]) -> None:
    case = demo_task(shared_site, "request_documents")[1]  # its step is offered to the claims clerks now
    clear = ok(callers["claims.clerk"].get(f"/api/instances/{case}"))["data"]
    masked = ok(callers["claims.manager"].get(f"/api/instances/{case}"))["data"]  # duty on claims: reads, masked
    for field in ("claimant_id_number", "payee_account"):
        assert not clear[field].startswith("••••") and len(clear[field]) > 8
        assert masked[field] == "••••" + clear[field][-4:]
    assert masked["claimant_name"] == clear["claimant_name"]  # a name is not masked: only identifiers
    assert ok(callers["auditor"].get(f"/api/instances/{case}"))["data"]["claimant_id_number"].startswith("••••")
    # The clerk who registered the claim waiting for approval holds none of its steps now: masked.
    registered = ok(callers["claims.clerk"].get(f"/api/instances/{approval_case(shared_site)}"))["data"]
    assert registered["claimant_id_number"].startswith("••••")


def test_showing_an_instance_the_caller_has_no_part_in_is_403(shared_site: Site, callers: dict[str, Caller]) -> None:
    assert error(callers["agent"].get(f"/api/instances/{approval_case(shared_site)}"), 403)["code"] == "forbidden"


def test_showing_an_unknown_instance_is_404(callers: dict[str, Caller]) -> None:
    assert error(callers["auditor"].get("/api/instances/99999"), 404)["code"] == "not_found"


def _another_agent(site: Site) -> Caller:
    """An agent who had no part in the sales of the test (created once per site)."""
    rt = site.wired.runtime
    with rt.uow() as uow:
        if uow.session.scalar(select(UserModel.id).where(UserModel.username == "agent.other")) is None:
            add_user(uow.session, rt.settings, "agent.other", ["agent"], None, rt.clock())
            uow.commit()
    return Caller(site, "agent.other")


def test_a_cooling_off_cancellation_message_over_the_api_pays_nothing_and_only_the_seller_may_send_it(
        shared_site: Site, callers: dict[str, Caller]) -> None:
    """Issue 12, item 5 and issue 13, finding 1, as reproduced: an agent delivers cancel_policy with an account of
    his choice. The sale only reads its policy record (a cancellation is a request through policy_termination),
    and only the agent who sold it may nudge it (deliveredBy="starter"): another agent has no part in it."""
    agent = callers["agent"]
    sale = ok(agent.post("/api/processes/sales/instances", json={"data": {}}), 201)["id"]
    for task_key, data in SALE:
        ok(agent.post(f"/api/tasks/{open_task(shared_site, sale, task_key)}/complete", json={"data": data}))
    issued = ok(agent.get(f"/api/instances/{sale}"))
    assert issued["status"] != "completed" and issued["data"]["policy"]["policy_number"]
    today = datetime.now(BUSINESS_TZ).date().isoformat()
    refused = _another_agent(shared_site).post(f"/api/instances/{sale}/messages/cancel_policy",
                                               json={"request_date": today})
    assert error(refused, 403)["code"] == "forbidden"
    told = ok(agent.post(f"/api/instances/{sale}/messages/cancel_policy",
                         json={"request_date": today, "payee_account": "6222020200112233445"}))
    assert told["status"] == "waiting" and told["open_tasks"] == []
    after = ok(agent.get(f"/api/instances/{sale}"))["data"]
    assert after["standing"]["in_force"] is True and "refund_payment" not in after


def test_a_message_nothing_waits_for_is_409(shared_site: Site, callers: dict[str, Caller]) -> None:
    response = callers["claims.clerk"].post(f"/api/instances/{approval_case(shared_site)}/messages/cancel_policy",
                                            json={"request_date": "2026-01-01"})
    assert "not waiting" in error(response, 409)["message"]


def test_a_message_body_must_be_a_json_object(shared_site: Site, callers: dict[str, Caller]) -> None:
    response = callers["claims.clerk"].post(f"/api/instances/{approval_case(shared_site)}/messages/cancel_policy",
                                            json=[1, 2])
    assert error(response, 422)["code"] == "invalid_input"


def test_a_message_to_an_unknown_instance_is_404(callers: dict[str, Caller]) -> None:
    assert error(callers["admin"].post("/api/instances/99999/messages/cancel_policy", json={}), 404)


# --- messages by name and correlation -------------------------------------------------------------

def _sale_in_cooling_off(shared_site: Site, agent: Caller) -> tuple[int, str]:
    sale = ok(agent.post("/api/processes/sales/instances", json={"data": {}}), 201)["id"]
    for task_key, data in SALE:
        ok(agent.post(f"/api/tasks/{open_task(shared_site, sale, task_key)}/complete", json={"data": data}))
    return sale, ok(agent.get(f"/api/instances/{sale}"))["data"]["policy"]["policy_number"]


def test_a_message_by_correlation_reaches_the_one_case_it_picks(shared_site: Site,
                                                                callers: dict[str, Caller]) -> None:
    agent = callers["agent"]
    sale, policy_number = _sale_in_cooling_off(shared_site, agent)
    today = datetime.now(BUSINESS_TZ).date().isoformat()
    body = {"data": {"request_date": today, "payee_account": "6222020200112233445"}}
    # The demo keeps a sale in cooling-off too: without a correlation the message could go to either.
    assert "give a correlation that picks one" in error(agent.post("/api/messages/cancel_policy", json=body), 409)[
        "message"]

    sent = ok(agent.post("/api/messages/cancel_policy", json={**body, "correlation": {"business_key": policy_number}}))

    # Delivered to the one sale; it reads its policy record, finds it in force and waits on.
    assert (sent["outcome"], sent["instance"]["id"], sent["instance"]["status"]) == ("delivered", sale, "waiting")


def test_a_message_nobody_catches_is_404_and_a_malformed_one_422(callers: dict[str, Caller]) -> None:
    clerk = callers["claims.clerk"]
    missing = error(clerk.post("/api/messages/no_such_message", json={"data": {}}), 404)
    assert "no process starts on it" in missing["message"]
    assert error(clerk.post("/api/messages/cancel_policy", json={"correlation": {"business_key": 7}}), 422)
    assert error(clerk.post("/api/messages/cancel_policy", json={"data": [1]}), 422)


def test_a_signal_nobody_waits_for_is_404_and_staff_may_not_broadcast(callers: dict[str, Caller]) -> None:
    assert error(callers["admin"].post("/api/signals/no_such_signal", json={}), 404)["code"] == "not_found"
    assert error(callers["claims.clerk"].post("/api/signals/no_such_signal", json={}), 403)["code"] == "forbidden"
    assert error(callers["admin"].post("/api/signals/no_such_signal", json={"data": [1]}), 422)
