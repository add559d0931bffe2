"""Looking up a policy while reporting a claim (POST /api/policies/lookup): by number, the holder's resident
ID number (its keyed hash) or part of a name; for claims staff only; the text travels in the body."""

from __future__ import annotations

from services.demo.data import CUSTOMERS, id_number
from tests.e2e.conftest import Site


def _lookup(client, text: str, status: int = 200) -> dict:
    response = client.post("/api/policies/lookup", json={"text": text})
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def test_a_clerk_finds_a_policy_by_number_id_number_or_name(site: Site) -> None:
    clerk = site.client()
    clerk.environ_base["HTTP_AUTHORIZATION"] = site.token("claims.clerk")["Authorization"]
    found = _lookup(clerk, " pdemo0001 ")["policies"]
    assert [p["number"] for p in found] == ["PDEMO0001"]
    assert found[0]["holder"] == "Li Hua 李华" and found[0]["status"] == "in_force"
    assert found[0]["product"].startswith("MED01")
    _name, region, birth, sequence, _phone, _region = CUSTOMERS[1]  # Wang Fang holds PDEMO0002
    assert [p["number"] for p in _lookup(clerk, id_number(region, birth, sequence))["policies"]] == ["PDEMO0002"]
    assert [p["number"] for p in _lookup(clerk, "王芳")["policies"]] == ["PDEMO0002"]
    assert _lookup(clerk, "PNOSUCH0000")["policies"] == []
    assert _lookup(clerk, "%")["policies"] == []  # a wildcard is a character


def test_only_claims_staff_look_policies_up(site: Site) -> None:
    for user, status in (("agent", 403), ("surveyor", 403), ("auditor", 403), ("claims.manager", 200)):
        client = site.client()
        client.environ_base["HTTP_AUTHORIZATION"] = site.token(user)["Authorization"]
        _lookup(client, "PDEMO0001", status)
    assert site.client().post("/api/policies/lookup", json={"text": "PDEMO0001"}).status_code == 401


def test_bad_look_ups_are_refused_with_a_reason(site: Site) -> None:
    clerk = site.client()
    clerk.environ_base["HTTP_AUTHORIZATION"] = site.token("claims.clerk")["Authorization"]
    assert _lookup(clerk, "", 422)["error"]["code"] == "invalid_input"
    assert _lookup(clerk, "x" * 101, 422)["error"]["code"] == "invalid_input"
    assert clerk.post("/api/policies/lookup", data="text=PDEMO0001",
                      content_type="application/x-www-form-urlencoded").status_code == 415
