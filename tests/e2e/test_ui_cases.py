"""The case page: status, current step and holder, data masked by role, timeline, diagram."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from services.demo.data import demo_identity
from tests.e2e.api_support import demo_task, shared_site
from tests.e2e.conftest import Site

_NAME, ID_NUMBER, _PHONE = demo_identity(0)
PAYEE = "6222020200100000000"  # the demo's payee account of customer 0


__all__ = ["shared_site"]  # the fixture this module's `site` stands on


@pytest.fixture
def site(shared_site: Site) -> Site:
    """One demo site for the whole module: its tests change nothing that another test here looks at."""
    return shared_site


def _client(site: Site, user: str) -> FlaskClient:
    client = site.signed_in(user)
    client.post("/language", data={"lang": "en"})
    return client


def test_the_case_shows_status_current_step_holder_and_timeline(site: Site) -> None:
    _task, case = demo_task(site, "approve_payout")
    response = _client(site, "claims.manager").get(f"/cases/{case}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Claims · C2" in page and 'id="case-status">Running<' in page
    assert "Approve payout" in page and "anyone with the role Claims manager" in page
    assert "claims.clerk started the case" in page
    assert "claims.clerk (Claims clerk) completed “Register claim (first notice of loss)”" in page
    assert "The system verified the claim: every check passed" in page
    assert "Payable amount (CNY)" in page and "¥59,500.00" in page and "Hospitalization" in page


def test_personal_data_is_masked_for_roles_that_do_not_need_it(site: Site) -> None:
    _task, case = demo_task(site, "approve_payout")
    for user in ("claims.manager", "adjuster", "auditor"):
        page = _client(site, user).get(f"/cases/{case}").get_data(as_text=True)
        assert ID_NUMBER not in page and PAYEE not in page, user
        assert f"••••{ID_NUMBER[-4:]}" in page and f"••••{PAYEE[-4:]}" in page, user


def test_personal_data_is_in_clear_only_for_whoever_holds_a_step_of_the_case_now(site: Site) -> None:
    _task, case = demo_task(site, "approve_payout")
    # The clerk registered this claim but holds none of its steps now (need to know): masked.
    page = _client(site, "claims.clerk").get(f"/cases/{case}").get_data(as_text=True)
    assert ID_NUMBER not in page and PAYEE not in page and f"••••{ID_NUMBER[-4:]}" in page
    _task, waiting = demo_task(site, "request_documents")  # offered to the claims clerks now
    page = _client(site, "claims.clerk").get(f"/cases/{waiting}").get_data(as_text=True)
    assert "Claimant&#39;s ID number" in page or "claimant_id_number" in page or "ID number" in page
    assert "••••" not in page


def test_the_holder_of_an_assigned_step_is_named(site: Site) -> None:
    _task, case = demo_task(site, "conduct_survey")
    page = _client(site, "surveyor.zhang").get(f"/cases/{case}").get_data(as_text=True)
    assert "Conduct survey and report" in page and "surveyor.zhang" in page


def test_the_diagram_is_the_deployed_file_with_the_path_taken(site: Site) -> None:
    _task, case = demo_task(site, "approve_payout")
    client = _client(site, "claims.manager")
    page = client.get(f"/cases/{case}").get_data(as_text=True)
    assert f'data-xml-url="/cases/{case}/diagram.xml"' in page
    assert "data-done='[" in page and '"register_claim"' in page and "data-active='[\"approve_payout\"]'" in page
    assert "/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in page
    xml = client.get(f"/cases/{case}/diagram.xml")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert b'<bpmn:process id="claims"' in xml.data


def test_people_outside_the_case_may_not_see_it_or_its_diagram(site: Site) -> None:
    _task, case = demo_task(site, "approve_payout")
    agent = _client(site, "agent")
    response = agent.get(f"/cases/{case}")
    assert response.status_code == 403 and "You have no part in case" in response.get_data(as_text=True)
    assert agent.get(f"/cases/{case}/diagram.xml").status_code == 403


def test_an_unknown_case_is_not_found(site: Site) -> None:
    response = _client(site, "auditor").get("/cases/999999")
    assert response.status_code == 404 and "There is no case 999999." in response.get_data(as_text=True)


def test_the_case_page_speaks_chinese(site: Site) -> None:
    _task, case = demo_task(site, "approve_payout")
    client = site.signed_in("claims.manager")
    client.post("/language", data={"lang": "zh"})
    page = client.get(f"/cases/{case}").get_data(as_text=True)
    assert "时间线" in page and "审批赔付" in page and "住院" in page and "claims.clerk 创建了案件" in page


def test_the_timeline_tells_what_each_rule_table_decided(site: Site) -> None:
    _task, case = demo_task(site, "approve_payout")
    page = _client(site, "claims.manager").get(f"/cases/{case}").get_data(as_text=True)
    assert re.search(r"“Screen for fraud” decided Fraud screening level: \w+ \(rule \d+", page)
    zh = site.signed_in("claims.manager")
    zh.post("/language", data={"lang": "zh"})
    chinese = zh.get(f"/cases/{case}").get_data(as_text=True)
    assert re.search(r"“欺诈筛查”判定 欺诈风险等级: [低中高]（规则 \d+：", chinese)
    assert "索赔金额 / 保险金额" in chinese and "Claimed amount / sum insured" not in chinese  # the inputs too
