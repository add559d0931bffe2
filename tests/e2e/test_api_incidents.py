"""Incidents over HTTP and on the case page: a payout the bank never answered stops the case; administrators
and auditors list it (`GET /api/incidents`), the case page says so to the staff on the case, and an
administrator's retry (`POST /api/incidents/{id}/retry`) asks the bank again and moves the case on."""

from __future__ import annotations

from tests.e2e.api_support import Caller, demo_task, error, ok
from tests.e2e.conftest import Site


def test_a_payout_without_an_answer_is_an_incident_listed_shown_and_retried(site: Site) -> None:
    task, case = demo_task(site, "approve_payout")
    site.wired.runtime.services.gateway.script = ["timeout"]  # the bank does not answer this once
    manager = Caller(site, "claims.manager")
    approved = ok(manager.post(f"/api/tasks/{task}/complete", json={"data": {"approved": True, "reason": "ok"}}))
    assert approved["status"] == "incident"

    listed = ok(Caller(site, "admin").get("/api/incidents"))
    (incident,) = [i for i in listed if i["instance_id"] == case]
    assert incident["task_key"] == "svc_pay_claim" and incident["status"] == "open"
    assert "did not answer" in incident["error"] and incident["next_retry_at"]
    assert [i["id"] for i in ok(Caller(site, "auditor").get("/api/incidents"))] == [i["id"] for i in listed]
    assert error(Caller(site, "claims.clerk").get("/api/incidents"), 403)["code"] == "forbidden"

    page = site.signed_in("claims.manager")
    page.post("/language", data={"lang": "en"})
    text = page.get(f"/cases/{case}").get_data(as_text=True)
    assert "The case is stopped by an incident:" in text and "did not answer" in text
    assert "is waiting for the bank’s answer" in text

    assert error(Caller(site, "auditor").post(f"/api/incidents/{incident['id']}/retry"), 403)
    retried = ok(Caller(site, "admin").post(f"/api/incidents/{incident['id']}/retry"))
    assert retried["status"] == "resolved" and retried["attempts"] == 1
    assert ok(manager.get(f"/api/instances/{case}"))["status"] == "completed"
    assert error(Caller(site, "admin").post(f"/api/incidents/{incident['id']}/retry"), 409)["code"] == "conflict"
    assert error(Caller(site, "admin").post("/api/incidents/999999/retry"), 404)["code"] == "not_found"
    after = page.get(f"/cases/{case}").get_data(as_text=True)
    assert "stopped by an incident" not in after and "waiting for the bank" not in after
