"""A claim from first notice to payout through the API only, then followed by the customer and checked by an auditor."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from services.demo.data import demo_identity
from tests.e2e.api_support import Caller, days_ago, ok, shared_site
from tests.e2e.claim_codes import access_code
from tests.e2e.conftest import Site

__all__ = ["shared_site"]


def first_notice() -> dict[str, Any]:
    """The register-claim form of services/demo/story.py's settled claim (policy PDEMO0001, a hospital stay)."""
    name, id_number, _phone = demo_identity(0)
    # The demo already holds two claims on PDEMO0001 (10 and 20 days ago): this incident is another one.
    incident = days_ago(8)
    return {"policy_number": "PDEMO0001", "claimant_name": name, "claimant_id_number": id_number,
            "incident_date": incident, "claim_type": "hospitalization", "cause_of_loss": "illness",
            "description": "Appendectomy, 4 nights",
            "claimed_amount": 68000, "documents": ["claim_form", "id_copy", "bank_card", "medical_invoice",
                                                   "discharge_summary"],
            "payee_account": "6222020200112233445", "region": "beijing"}


def inbox_task(caller: Caller, case: int, task_key: str) -> int:
    """The id of `task_key` of the case, as the caller's inbox lists it."""
    items = ok(caller.get("/api/tasks?process=claims&page_size=100"))["items"]
    return next(t["id"] for t in items if t["instance_id"] == case and t["task"] == task_key)


def test_a_claim_goes_from_first_notice_to_payout_through_the_api(shared_site: Site) -> None:
    clerk, adjuster = Caller(shared_site, "claims.clerk"), Caller(shared_site, "adjuster")
    manager, auditor = Caller(shared_site, "claims.manager"), Caller(shared_site, "auditor")

    started = ok(clerk.post("/api/processes/claims/instances", json={"data": {}}), 201)
    case = started["id"]
    register = next(t["id"] for t in started["open_tasks"] if t["task"] == "register_claim")
    after_notice = ok(clerk.post(f"/api/tasks/{register}/complete", json={"data": first_notice()}))
    assert [t["task"] for t in after_notice["open_tasks"]] == ["assess_amount"]

    shown = ok(adjuster.get(f"/api/instances/{case}"))["data"]
    suggested = shown["suggestion"]["suggested_amount"]
    assert shown["claimant_id_number"] == "••••" + demo_identity(0)[1][-4:]
    assess = inbox_task(adjuster, case, "assess_amount")
    ok(adjuster.post(f"/api/tasks/{assess}/claim"))
    assessed = ok(adjuster.post(f"/api/tasks/{assess}/complete", json={"data": {
        "decision": "pay", "payable_amount": suggested, "note": "covered in full"}}))
    assert [t["task"] for t in assessed["open_tasks"]] == ["approve_payout"]  # above the manager's approval limit

    approve = inbox_task(manager, case, "approve_payout")
    paid = ok(manager.post(f"/api/tasks/{approve}/complete", json={"data": {
        "approved": True, "reason": "documents complete"}}))
    assert paid["status"] == "completed" and paid["open_tasks"] == []

    claim = ok(clerk.get(f"/api/instances/{case}"))["data"]["claim"]
    status = ok(shared_site.client().post(f"/api/public/claims/{claim['claim_number']}",
                                          json={"code": access_code(shared_site, claim["claim_number"])}))
    assert status["steps"][0]["status"] == "registered" and status["steps"][-1]["status"] == "paid"
    assert Decimal(status["paid_amount"]) == Decimal(str(suggested))  # the amount paid, once paid

    history = ok(auditor.get(f"/api/instances/{case}/history?page_size=100"))["items"]
    assert [(e["task"], e["actor"]) for e in history if e["type"] == "task_completed"] == [
        ("register_claim", "claims.clerk"), ("assess_amount", "adjuster"), ("approve_payout", "claims.manager")]
    assert ok(auditor.post(f"/api/instances/{case}/replay"))["consistent"] is True
    assert ok(auditor.get("/api/audit/verify"))["ok"] is True


def test_amounts_travel_through_the_api_as_exact_json_numbers(shared_site: Site) -> None:
    clerk, auditor = Caller(shared_site, "claims.clerk"), Caller(shared_site, "auditor")
    started = ok(clerk.post("/api/processes/claims/instances", json={"data": {}}), 201)
    case = started["id"]
    register = next(t["id"] for t in started["open_tasks"] if t["task"] == "register_claim")
    body = json.dumps({"data": {**first_notice(), "claimed_amount": 1}}).replace(
        '"claimed_amount": 1', '"claimed_amount": 12500.10')  # the exact text a client sends
    ok(clerk.post(f"/api/tasks/{register}/complete", data=body, content_type="application/json"))

    raw = clerk.get(f"/api/instances/{case}").get_data(as_text=True)
    assert '"claimed_amount":12500.10' in raw.replace(" ", "")  # a JSON number with its digits, not a string
    shown = json.loads(raw, parse_float=Decimal)["data"]
    assert shown["claimed_amount"] == Decimal("12500.10") and shown["claim"]["claim_id"] is not None
    history = auditor.get(f"/api/instances/{case}/history?page_size=100").get_data(as_text=True)
    (completed,) = [e for e in json.loads(history, parse_float=Decimal)["items"] if e["type"] == "task_completed"]
    assert completed["payload"]["data"]["claimed_amount"] == Decimal("12500.10")
