"""A policy's beneficiaries over HTTP: the API and the policy page show them masked by role and change them
for an underwriter (or the selling agent) only; a bad change is refused and nothing changes (issue 12, item 1)."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from engine.workflow.models import InstanceModel
from services.demo.data import beneficiary_designation
from tests.e2e.api_support import Caller, error, ok, open_task
from tests.e2e.conftest import Site

WIFE, SON = beneficiary_designation(7)  # PDEMO0007: Zhao Jun's term life names his wife (60 %) and son (40 %)
URL = "/api/policies/PDEMO0007/beneficiaries"
CHANGE = {"beneficiary_designation": "named", "written_request": True,
          "beneficiaries": [{**SON, "share": 70}, {**WIFE, "share": 30}],
          "reason": "The insured's written request of today: 70 % to the son."}


def english(site: Site, user: str) -> FlaskClient:
    """A browser signed in as the user, reading English."""
    client = site.signed_in(user)
    client.post("/language", data={"lang": "en"})
    return client


def put(caller: Caller, body: Any) -> Any:
    """PUT a change as the caller."""
    return caller.client.put(URL, headers=caller.headers, json=body)


def test_the_api_shows_beneficiaries_masked_by_role_and_records_an_underwriters_change(site: Site) -> None:
    underwriter, adjuster, clerk = Caller(site, "underwriter"), Caller(site, "adjuster"), Caller(site, "claims.clerk")

    shown = ok(adjuster.get(URL))
    assert shown["beneficiary_designation"] == "named" and shown["may_change"] is False
    assert [(b["name"], b["relation"], b["share"]) for b in shown["beneficiaries"]] == [
        (WIFE["name"], "spouse", 60.0), (SON["name"], "child", 40.0)]
    assert shown["beneficiaries"][0]["id_number"] == "••••" + WIFE["id_number"][-4:]
    assert ok(underwriter.get(URL))["beneficiaries"][0]["id_number"] == WIFE["id_number"]

    assert error(put(clerk, CHANGE), 403)["code"] == "forbidden"
    refused = error(put(underwriter, {**CHANGE, "beneficiaries": [{**SON, "share": 70}, {**WIFE, "share": 20}]}), 422)
    assert refused["details"]["fields"] == {"beneficiaries": "the shares add up to 90 %, not 100 %"}
    refused = error(put(underwriter, {**CHANGE, "beneficiaries": [{**SON, "share": 70, "relation": "boss"},
                                                                  {**WIFE, "share": 30}]}), 422)
    assert list(refused["details"]["fields"]) == ["beneficiaries.0.relation"]
    assert error(underwriter.client.put("/api/policies/P9/beneficiaries", headers=underwriter.headers,
                                        json=CHANGE), 404)["code"] == "not_found"
    assert [b["share"] for b in ok(adjuster.get(URL))["beneficiaries"]] == [60.0, 40.0]  # nothing changed

    changed = ok(put(underwriter, CHANGE))

    assert [(b["name"], b["share"]) for b in changed["beneficiaries"]] == [(SON["name"], 70.0), (WIFE["name"], 30.0)]
    [change] = ok(adjuster.get(URL))["changes"]
    assert (change["changed_by"], change["reason"]) == ("underwriter", CHANGE["reason"])
    assert change["after"]["beneficiaries"][0] == {"name": SON["name"], "id_last4": SON["id_number"][-4:],
                                                   "relation": "child", "share": 70.0}


def test_the_policy_page_changes_beneficiaries_with_field_errors_and_shows_them_masked(site: Site) -> None:
    underwriter = english(site, "underwriter")
    page = underwriter.get("/policies/PDEMO0007").get_data(as_text=True)
    assert WIFE["name"] in page and 'id="beneficiaries-form"' in page

    form = {"beneficiary_designation": "named", "reason": "Written request: the son alone.", "written_request": "on",
            "b-0-name": SON["name"], "b-0-id_number": SON["id_number"], "b-0-relation": "child", "b-0-share": "90"}
    refused = underwriter.post("/policies/PDEMO0007", data=form)
    assert refused.status_code == 422
    assert "the shares add up to 90 %, not 100 %" in refused.get_data(as_text=True)

    done = underwriter.post("/policies/PDEMO0007", data={**form, "b-0-share": "100"})
    assert done.status_code in (302, 303)
    page = underwriter.get("/policies/PDEMO0007").get_data(as_text=True)
    assert "Written request: the son alone." in page and f"{SON['name']} (100.00 %)" in page

    adjuster_page = english(site, "adjuster").get("/policies/PDEMO0007").get_data(as_text=True)
    assert "••••" + SON["id_number"][-4:] in adjuster_page and SON["id_number"] not in adjuster_page
    assert 'id="beneficiaries-form"' not in adjuster_page
    bad_row = english(site, "adjuster").post("/policies/PDEMO0007", data=form)
    assert bad_row.status_code == 403
    assert english(site, "agent").get("/policies/PDEMO0007").status_code == 403  # not the agent who sold it


def test_the_sale_links_to_its_policy_where_the_selling_agent_sees_the_legal_heirs_and_may_change_them(
        site: Site) -> None:
    with site.wired.runtime.uow() as uow:
        sale, number = uow.session.execute(select(InstanceModel.id, InstanceModel.business_key).where(
            InstanceModel.process_key == "sales", InstanceModel.business_key.like("P%"))).first()
    agent = english(site, "agent")
    case_page = agent.get(f"/cases/{sale}").get_data(as_text=True)
    assert re.search(rf'href="/policies/{number}" id="policy-link"', case_page)
    page = agent.get(f"/policies/{number}").get_data(as_text=True)
    assert "legal heirs" in page and 'id="beneficiaries-form"' in page


def test_the_application_page_takes_named_beneficiaries_row_by_row_and_marks_a_bad_share(site: Site) -> None:
    agent_api = Caller(site, "agent")
    started = ok(agent_api.post("/api/processes/sales/instances", json={"data": {}}), 201)
    sale = started["id"]
    steps = [("customer_registration", {"consent": True, "name": "Sun Li 孙丽", "id_number": "110105199001011230",
                                        "birth_date": "1990-01-01", "phone": "13800138000", "region": "beijing"}),
             ("needs_analysis", {"income": 200000, "dependents": 1, "existing_cover": 0, "goal": "life",
                                 "risk_tolerance": "medium"}),
             ("present_quote", {"product_code": "LIFE20", "sum_insured": 400000, "term_years": 20})]
    for task_key, data in steps:
        ok(agent_api.post(f"/api/tasks/{open_task(site, sale, task_key)}/complete", json={"data": data}))
    task = open_task(site, sale, "application")
    agent = english(site, "agent")
    page = agent.get(f"/tasks/{task}").get_data(as_text=True)
    assert 'name="beneficiaries-0-id_number"' in page and 'name="beneficiaries-4-share"' in page

    form = {"product_line": "life", "smoker": "false",
            "height_cm": "175", "weight_kg": "70", "chronic_disease": "false",
            "occupation_class": "1", "beneficiary_designation": "named",
            "beneficiaries-0-name": WIFE["name"], "beneficiaries-0-id_number": WIFE["id_number"],
            "beneficiaries-0-relation": "spouse", "beneficiaries-0-share": "60",
            "beneficiaries-1-name": SON["name"], "beneficiaries-1-id_number": SON["id_number"],
            "beneficiaries-1-relation": "child", "beneficiaries-1-share": "30"}
    refused = agent.post(f"/tasks/{task}", data=form)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "The shares add up to 90 %; they must add up to 100 %." in text
    assert f'value="{SON["id_number"]}"' in text  # what was entered is kept

    done = agent.post(f"/tasks/{task}", data={**form, "beneficiaries-1-share": "40"})
    assert done.status_code in (302, 303)
    data = ok(agent_api.get(f"/api/instances/{sale}"))["data"]
    assert [(b["name"], b["relation"], b["share"]) for b in data["beneficiaries"]] == [
        (WIFE["name"], "spouse", 60), (SON["name"], "child", 40)]
