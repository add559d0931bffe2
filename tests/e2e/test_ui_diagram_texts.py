"""The diagrams' translations on the staff's pages: in Chinese the inbox, the task page (name and instructions), the
case page, the audit view and its PDF name every step in Chinese, and the diagram is drawn with Chinese labels."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from lxml import etree

from tests.e2e.api_support import demo_task, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]

BPMN = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


@pytest.fixture
def site(shared_site: Site) -> Site:
    return shared_site


def _zh(site: Site, user: str) -> FlaskClient:
    client = site.signed_in(user)
    client.post("/language", data={"lang": "zh"})
    return client


def test_the_case_page_names_system_steps_in_chinese_and_draws_the_chinese_diagram(site: Site) -> None:
    _task, case = demo_task(site, "approve_payout")
    client = _zh(site, "claims.manager")
    page = client.get(f"/cases/{case}").get_data(as_text=True)
    assert "欺诈筛查" in page and "查询审批权限" in page  # Screen for fraud, Look up approval limit (the timeline)
    assert "Verify claim" not in page and "Screen for fraud" not in page
    assert f'data-xml-url="/cases/{case}/diagram.xml?lang=zh"' in page
    drawn = client.get(f"/cases/{case}/diagram.xml?lang=zh")
    tree = etree.fromstring(drawn.data)
    assert tree.find(".//bpmn:serviceTask[@id='svc_verify_claim']", BPMN).get("name") == "理赔审核"
    assert tree.find(".//bpmn:lane[@name='理赔受理员']", BPMN) is not None
    assert tree.find(".//bpmn:userTask[@id='approve_payout']", BPMN).get("name") == "审批赔付"
    assert tree.find(".//bpmn:message", BPMN).get("name") == "claim_documents_sent"  # the engine's key stays


def test_the_deployed_diagram_stays_byte_identical(site: Site) -> None:
    _task, case = demo_task(site, "approve_payout")
    client = _zh(site, "claims.manager")
    deployed = client.get(f"/cases/{case}/diagram.xml").data
    assert b'name="Verify claim"' in deployed
    analyst = site.signed_in("analyst")
    listed = analyst.get("/api/processes").get_json()["items"]
    deployment = next(p["deployment_id"] for p in listed if p["key"] == "claims")
    assert analyst.get(f"/api/deployments/{deployment}/files/claims.bpmn").data == deployed
    assert client.get(f"/cases/{case}/diagram.xml?lang=xx").data == deployed


def test_the_task_page_shows_the_chinese_name_and_instructions(site: Site) -> None:
    task, _case = demo_task(site, "approve_payout")
    page = _zh(site, "claims.manager").get(f"/tasks/{task}").get_data(as_text=True)
    assert "审批赔付" in page and "理算员核定赔付" in page and "需要您批准" in page
    assert "The adjuster assessed" not in page


def test_the_task_api_gives_the_name_and_instructions_in_each_staff_language(site: Site) -> None:
    task, _case = demo_task(site, "assess_amount")
    body = site.signed_in("adjuster").get(f"/api/tasks/{task}").get_json()
    zh = body["texts"]["zh"]
    assert zh["name"] == "核定赔付金额" and zh["instructions"].startswith("请决定是否赔付")
    assert body["instructions"].startswith("Decide whether to pay")


def test_the_inbox_names_tasks_and_filter_entries_in_chinese(site: Site) -> None:
    page = _zh(site, "claims.manager").get("/?scope=role").get_data(as_text=True)
    assert "审批赔付" in page and "Approve payout" not in page


def test_the_audit_view_and_its_pdf_name_steps_in_chinese(site: Site) -> None:
    _task, case = demo_task(site, "approve_payout")
    auditor = _zh(site, "auditor")
    page = auditor.get(f"/audit/cases/{case}").get_data(as_text=True)
    assert "理赔审核" in page and "Verify claim" not in page and "lang=zh" in page
    report = auditor.get(f"/api/instances/{case}/report?format=json").get_json()
    assert "核定赔付金额" in [step["task"] for step in report["steps"]]  # the steps the PDF prints
    pdf = auditor.get(f"/api/instances/{case}/report?format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")


def test_the_dashboard_names_steps_in_chinese(site: Site) -> None:
    page = _zh(site, "claims.manager").get("/dashboard").get_data(as_text=True)
    assert "核定赔付金额" in page and "Assess amount" not in page


def test_instructions_quote_a_decision_tables_output_in_chinese(site: Site) -> None:
    task, _case = demo_task(site, "siu_investigation")
    page = _zh(site, "siu").get(f"/tasks/{task}").get_data(as_text=True)
    assert "本理赔被标记：" in page and "claimant or payee account on the watch list" not in page
