"""What the schemathesis run (scripts/fuzz_api.py) found, fixed at the cause: a JSON operation's body is never
silently dropped (415 for another media type, 400 when a required body is missing, so a body-less start is no
201), an id beyond any column is 404 whatever the method, and a dry run's scenario text is read strictly."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine.workflow.models import EventModel, InstanceModel
from tests.e2e.api_support import Caller, error, ok, shared_site
from tests.e2e.conftest import Site
from tests.e2e.test_api_dry_runs import SCENARIO, draft

__all__ = ["shared_site"]

START = "/api/processes/sales/instances"


@pytest.fixture(scope="module")
def agent(shared_site: Site) -> Caller:
    return Caller(shared_site, "agent")


def counts(site: Site) -> tuple[int, int]:
    """(instances, events): what a refused request must leave as it was."""
    with site.wired.runtime.uow() as uow:
        return (uow.session.scalar(select(func.count()).select_from(InstanceModel)),
                uow.session.scalar(select(func.count()).select_from(EventModel)))


@pytest.mark.parametrize("content_type", [None, "application/json"])
def test_a_start_without_a_body_is_400_and_starts_nothing(shared_site: Site, agent: Caller,
                                                         content_type: str | None) -> None:
    before = counts(shared_site)
    problem = error(agent.post(START, content_type=content_type), 400)
    assert problem["code"] == "malformed" and "needs a JSON body" in problem["message"]
    assert counts(shared_site) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_start_body_in_another_media_type_is_415_and_starts_nothing(shared_site: Site, agent: Caller,
                                                                     content_type: str) -> None:
    before = counts(shared_site)
    problem = error(agent.post(START, data=json.dumps({"data": {}}), content_type=content_type), 415)
    assert problem["code"] == "unsupported_media_type" and "application/json" in problem["message"]
    assert counts(shared_site) == before


def test_a_json_start_still_starts(agent: Caller) -> None:
    assert ok(agent.post(START, json={"data": {}}), 201)["process_key"] == "sales"


def test_an_optional_body_may_be_left_out_but_not_sent_as_text(shared_site: Site, agent: Caller) -> None:
    sale = ok(agent.post(START, json={"data": {}}), 201)["id"]
    path = f"/api/instances/{sale}/messages/no_such_message"
    left_out = agent.post(path)  # no body: the message has no data; the engine answers about the message
    assert left_out.status_code not in (400, 415), left_out.get_data(as_text=True)
    assert error(agent.post(path, data="cancel", content_type="text/plain"), 415)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(("method", "path"), [
    ("DELETE", "/api/processes/claims/scenarios/2147483648"),
    ("PUT", "/api/processes/claims/scenarios/99999999999999999999"),
    ("POST", "/api/tasks/2147483648"),
])
def test_an_id_beyond_any_column_is_404_whatever_the_method(shared_site: Site, method: str, path: str) -> None:
    analyst = Caller(shared_site, "analyst")
    response = analyst.client.open(path, method=method, headers=analyst.headers, json={"name": "x", "scenario": {}})
    assert error(response, 404)["code"] == "not_found" and "Allow" not in response.headers


def test_a_wrong_method_on_a_real_path_is_still_405_with_allow(shared_site: Site) -> None:
    analyst = Caller(shared_site, "analyst")
    response = analyst.client.post("/api/processes/claims/scenarios/1", headers=analyst.headers)
    assert error(response, 405)["code"] == "method_not_allowed"
    assert {"GET", "PUT", "DELETE"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_a_dry_run_scenario_sent_as_text_is_read_strictly(shared_site: Site) -> None:
    analyst = Caller(shared_site, "analyst")
    text = json.dumps(SCENARIO).replace('"steps"', '"limit": NaN, "steps"', 1)
    problem = error(analyst.post("/api/dry-runs", data={"files": draft(), "scenario": text}), 422)
    assert problem["details"]["fields"] == {"scenario": "not valid JSON"} and "NaN" in problem["message"]
