"""Who may do what through the API: every role against every kind of call (the engine decides; the API shows it)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.workflow.settings import DEFAULT_ROLES
from tests.e2e.api_support import Caller, demo_task, error, ok, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
# SIU and claims managers have a duty across every claim (need to know); auditors and admins read every case.
READERS_OF_THE_CLAIM = {"claims_clerk", "adjuster", "claims_manager", "siu", "auditor", "admin"}


@dataclass(frozen=True)
class Call:
    """One kind of API call, who may make it, and what they get."""

    method: str
    path: str  # {case}, {assess} and {documents} are filled from the demo
    allowed: frozenset[str]
    status: int = 200  # what an allowed role gets
    json: dict[str, Any] | None = None
    upload: bool = False


CALLS = {
    # Deploying the demo's own files again changes nothing: analysts and admins get the existing deployment.
    "deploy": Call("POST", "/api/deployments", frozenset({"analyst", "admin"}), upload=True),
    "list every instance": Call("GET", "/api/instances", frozenset({"auditor", "admin"})),
    "replay": Call("POST", "/api/instances/{case}/replay", frozenset({"auditor", "admin"})),
    "verify the chains": Call("GET", "/api/audit/verify", frozenset({"auditor", "admin"})),
    "read the claim": Call("GET", "/api/instances/{case}", frozenset(READERS_OF_THE_CLAIM)),
    "read its history": Call("GET", "/api/instances/{case}/history", frozenset(READERS_OF_THE_CLAIM)),
    "start a claim": Call("POST", "/api/processes/claims/instances", frozenset({"claims_clerk"}), 201, {}),
    "start a sale": Call("POST", "/api/processes/sales/instances", frozenset({"agent"}), 201, {}),
    "claim the adjuster's task": Call("POST", "/api/tasks/{assess}/claim", frozenset({"adjuster"})),
    # An empty form: the clerk gets as far as the form check (422, nothing changes); everyone else is refused first.
    "complete the clerk's task": Call("POST", "/api/tasks/{documents}/complete", frozenset({"claims_clerk"}), 422,
                                      {"data": {}}),
    "assign the clerk's task": Call("POST", "/api/tasks/{documents}/assign", frozenset({"claims_manager", "admin"}),
                                    200, {"to": "claims.clerk"}),
}


@pytest.fixture(scope="module")
def callers(shared_site: Site) -> dict[str, Caller]:
    return {role: Caller(shared_site, role.replace("_", ".")) for role in DEFAULT_ROLES}


@pytest.fixture(scope="module")
def places(shared_site: Site) -> dict[str, int]:
    return {"case": demo_task(shared_site, "approve_payout")[1], "assess": demo_task(shared_site, "assess_amount")[0],
            "documents": demo_task(shared_site, "request_documents")[0]}


def demo_upload() -> dict[str, Any]:
    files = sorted(p for p in BPMN_DIR.rglob("*") if p.suffix in (".bpmn", ".dmn", ".json"))
    return {"files": [(io.BytesIO(p.read_bytes()), p.relative_to(BPMN_DIR).as_posix()) for p in files]}


def make(caller: Caller, call: Call, places: dict[str, int]) -> Any:
    path = call.path.format(**places)
    if call.method == "GET":
        return caller.get(path)
    return caller.post(path, data=demo_upload()) if call.upload else caller.post(path, json=call.json)


@pytest.mark.parametrize("role", DEFAULT_ROLES)
@pytest.mark.parametrize("name", list(CALLS))
def test_who_may_make_each_call(callers: dict[str, Caller], places: dict[str, int], name: str, role: str) -> None:
    call = CALLS[name]
    response = make(callers[role], call, places)
    if role in call.allowed:
        assert response.status_code == call.status, (response.status_code, response.get_data(as_text=True)[:500])
    else:
        assert error(response, 403)["code"] == "forbidden"


def test_an_auditor_reads_every_instance_and_its_history(callers: dict[str, Caller]) -> None:
    auditor = callers["auditor"]
    listed = ok(auditor.get("/api/instances?page_size=100"))["items"]
    assert len(listed) >= 9
    for instance in listed:
        assert ok(auditor.get(f"/api/instances/{instance['id']}"))["id"] == instance["id"]
        assert ok(auditor.get(f"/api/instances/{instance['id']}/history"))["total"] >= 1


def test_an_auditor_may_not_deliver_a_message(callers: dict[str, Caller], places: dict[str, int]) -> None:
    response = callers["auditor"].post(f"/api/instances/{places['case']}/messages/cancel_policy", json={})
    assert error(response, 403)["code"] == "forbidden"
