"""The studio's pages: processes and versions, a version's files, the editor of a draft, deploy with a
comment, problems named on the right elements, diff, rollback, the form preview — analysts only."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.e2e.api_support import shared_site
from tests.e2e.conftest import Site
from tests.e2e.test_api_processes import note_bpmn, note_files

__all__ = ["shared_site"]

NOT_ANALYSTS = ("claims.clerk", "adjuster", "claims.manager", "auditor", "agent", "compliance", "underwriter",
                "siu", "finance", "surveyor.zhang")
PAGES = ("/studio/", "/studio/claims/edit", "/studio/claims/versions/1", "/studio/claims/diff?from=1&to=1")


@pytest.fixture
def site(shared_site: Site) -> Site:
    """One demo site for the module: each test works on a process of its own or only reads."""
    return shared_site


def _analyst(site: Site, user: str = "analyst") -> FlaskClient:
    client = site.signed_in(user)
    client.post("/language", data={"lang": "en"})
    return client


def _setup(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="studio-setup">(.*?)</script>', page, re.S)
    assert found, "the editor embeds its set-up"
    return json.loads(found.group(1))


def _upload(client: FlaskClient, files: dict[str, bytes], action: str, comment: str = "") -> Any:
    return client.post("/studio/upload", data={
        "files": [(io.BytesIO(content), name) for name, content in files.items()], "action": action,
        "comment": comment}, content_type="multipart/form-data")


@pytest.mark.parametrize("user", NOT_ANALYSTS)
def test_every_studio_page_is_forbidden_to_everyone_but_analysts(site: Site, user: str) -> None:
    client = site.signed_in(user)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post("/studio/claims/deploy", data={"comment": "x"}).status_code == 403
    assert client.post("/studio/claims/rollback", data={"version": "1"}).status_code == 403
    assert "Studio" not in client.get("/").get_data(as_text=True).split("<main")[0]


def test_signed_out_visitors_are_sent_to_sign_in(site: Site) -> None:
    response = site.client().get("/studio/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_index_lists_each_process_with_its_versions_deployer_comment_and_running_cases(site: Site) -> None:
    client = _analyst(site)
    page = client.get("/studio/").get_data(as_text=True)
    assert 'id="process-claims"' in page and 'id="process-sales"' in page
    claims = page.split('id="process-claims"')[1].split('class="card shadow-sm mb-4 studio-process"')[0]
    assert 'data-version="1"' in claims and "newest" in claims and 'class="text-end running">' in claims
    assert re.search(r'class="text-end running">[1-9]', claims), "the demo's claims run on version 1"
    assert 'href="/studio/claims/edit"' in page and "Studio" in page.split("<main")[0]


def test_the_studio_is_in_chinese_for_chinese_users(site: Site) -> None:
    client = site.signed_in("analyst")
    client.post("/language", data={"lang": "zh"})
    page = client.get("/studio/").get_data(as_text=True)
    assert "运行中的实例" in page and "部署人" in page and "上传文件" in page


def test_a_version_page_offers_every_file_for_download_as_deployed_and_its_diagram(site: Site) -> None:
    client = _analyst(site)
    page = client.get("/studio/claims/versions/1").get_data(as_text=True)
    links = re.findall(r'href="(/api/deployments/\d+/files/[^"]+)" download', page)
    assert any(link.endswith("/claims.bpmn") for link in links)
    assert any("claims_register_claim.json" in link for link in links)
    downloaded = client.get(next(x for x in links if x.endswith("/claims.bpmn")))
    assert downloaded.status_code == 200 and b'<bpmn:process id="claims"' in downloaded.data
    assert 'id="version-diagram"' in page and "claims.bpmn" in page
    assert client.get("/studio/claims/versions/99").status_code == 404


def test_the_editor_opens_a_draft_with_the_process_files_the_handler_catalogue_and_the_roles(site: Site) -> None:
    client = _analyst(site, "admin")
    response = client.get("/studio/underwriting/edit")
    assert response.status_code == 200
    setup = _setup(response.get_data(as_text=True))
    assert setup["main"] == "underwriting.bpmn" and "underwriting_risk.dmn" in setup["files"]
    assert "sales.bpmn" not in setup["files"] and setup["revision"] == 1
    assert any(o["name"] == "verify_applicant" and o["required"] == ["customer_id"] for o in setup["operators"])
    assert "senior_underwriter" in setup["roles"] and setup["urls"]["draft"] == "/api/studio/drafts/underwriting"
    assert client.get("/studio/nope/edit").status_code == 404


def test_an_invalid_upload_names_each_problem_on_its_element_and_deploys_nothing(site: Site) -> None:
    client = _analyst(site)
    bad = note_bpmn("ui_bad", operator="no_such_operator").replace(
        b'<bpmn:process id="ui_bad"',
        b'<bpmn:collaboration id="c"><bpmn:participant id="p" processRef="ui_bad"/></bpmn:collaboration>'
        b'<bpmn:process id="ui_bad"').replace(
        b'<bpmn:startEvent', b'<bpmn:laneSet id="ls"><bpmn:lane id="lane_wizards" name="Wizards">'
        b'<bpmn:flowNodeRef>write_note</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet><bpmn:startEvent', 1)
    for action in ("validate", "deploy"):
        response = _upload(client, {"ui_bad.bpmn": bad, "forms/api_note.json": note_files()["forms/api_note.json"]},
                           action)
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        rows = re.findall(r'<tr class="problem" data-file="([^"]*)" data-element="([^"]*)">(.*?)</tr>', page, re.S)
        by_element = {element: text for _file, element, text in rows}
        assert "unknown service task operator" in by_element["svc_call"]
        assert "&#39;wizards&#39; is not a known role" in by_element["lane_wizards"]
    assert 'id="process-ui_bad"' not in client.get("/studio/").get_data(as_text=True)


def test_a_valid_upload_validates_then_deploys_with_its_comment(site: Site) -> None:
    client = _analyst(site)
    files = note_files("ui_upload")
    checked = _upload(client, files, "validate")
    assert checked.status_code == 302 and 'id="process-ui_upload"' not in client.get("/studio/").get_data(
        as_text=True)
    assert _upload(client, files, "deploy", "first upload").status_code == 302
    page = client.get("/studio/").get_data(as_text=True)
    assert 'id="process-ui_upload"' in page and "first upload" in page


def test_a_saved_draft_deploys_with_a_comment_and_the_diff_and_rollback_pages_follow(site: Site) -> None:
    client = _analyst(site)
    _upload(client, note_files("ui_flow"), "deploy", "v1")
    setup = _setup(client.get("/studio/ui_flow/edit").get_data(as_text=True))
    files = dict(setup["files"])
    files["ui_flow.bpmn"] = files["ui_flow.bpmn"].replace('name="Write a note"', 'name="Write the note"')
    saved = client.put("/api/studio/drafts/ui_flow", json={"files": files, "revision": setup["revision"]})
    assert saved.status_code == 200
    deployed = client.post("/studio/ui_flow/deploy", data={"comment": "clearer task name"})
    assert deployed.status_code == 302 and deployed.headers["Location"].endswith("/studio/ui_flow/versions/2")
    version = client.get("/studio/ui_flow/versions/2").get_data(as_text=True)
    assert "clearer task name" in version and "Deployed as version 2." in version

    diff = client.get("/studio/ui_flow/diff?from=1&to=2").get_data(as_text=True)
    assert 'class="change change-changed" data-element="write_note"' in diff
    assert "Write a note" in diff and "Write the note" in diff
    assert '"write_note": "changed"' in diff  # the marker on the newer diagram

    rolled = client.post("/studio/ui_flow/rollback", data={"version": "1", "comment": "back to v1"})
    assert rolled.status_code == 302
    index = client.get("/studio/").get_data(as_text=True)
    flow = index.split('id="process-ui_flow"')[1].split('id="process-')[0]
    assert "content of v1" in flow and "back to v1" in flow and 'data-version="3"' in flow
    again = client.post("/studio/ui_flow/rollback", data={"version": "1", "comment": "again"}, follow_redirects=True)
    assert "already runs this content" in again.get_data(as_text=True)
    assert client.post("/studio/ui_flow/rollback", data={"version": "x"}).status_code == 400


def test_deploying_an_invalid_draft_shows_the_editor_with_the_problems_on_their_elements(site: Site) -> None:
    client = _analyst(site)
    _upload(client, note_files("ui_broken"), "deploy", "v1")
    setup = _setup(client.get("/studio/ui_broken/edit").get_data(as_text=True))
    files = {**setup["files"], "ui_broken.bpmn": setup["files"]["ui_broken.bpmn"].replace(
        'value="api_note.json"', 'value="missing.json"')}
    client.put("/api/studio/drafts/ui_broken", json={"files": files})
    response = client.post("/studio/ui_broken/deploy", data={"comment": "broken"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    problems = _setup(page)["problems"]
    assert [(p["file"], p["element"]) for p in problems] == [("ui_broken.bpmn", "write_note")]
    assert "missing.json" in problems[0]["message"] and 'data-element="write_note"' in page
    assert "The draft was not deployed" in page


def test_discarding_a_draft_removes_it(site: Site) -> None:
    client = _analyst(site)
    client.get("/studio/sales/edit")
    assert client.get("/api/studio/drafts/sales").status_code == 200
    assert client.post("/studio/sales/discard").status_code == 302
    assert client.get("/api/studio/drafts/sales").status_code == 404


def test_the_form_preview_renders_a_schema_as_the_task_page_does_and_explains_bad_input(site: Site) -> None:
    client = _analyst(site)
    schema = {"type": "object", "title": "Note", "required": ["amount"], "properties": {
        "amount": {"type": "number", "title": "Amount (CNY)"},
        "kind": {"type": "string", "title": "Kind", "enum": ["a", "b"], "x-enum-titles": ["Alpha", "Beta"]}}}
    shown = client.post("/studio/forms/preview", json={"schema": json.dumps(schema)}).get_json()
    assert shown["ok"] is True and 'id="field-amount"' in shown["html"] and "Amount (CNY)" in shown["html"]
    assert "Alpha" in shown["html"] and "field-radios" in shown["html"]
    wrong = client.post("/studio/forms/preview", json={"schema": json.dumps({"type": "object", "required": 3})})
    assert wrong.get_json()["ok"] is False and wrong.get_json()["problems"]
    broken = client.post("/studio/forms/preview", json={"schema": "{nope"})
    assert broken.status_code == 422 and "Not valid JSON" in broken.get_json()["message"]
    assert client.post("/studio/forms/preview", json={"schema": "[1]"}).status_code == 422
