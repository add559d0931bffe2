"""The case page reads like a case file (issue 15): the data in sections in the process's order with the forms'
labels and codes in words, internal values left out, the timeline in sentences in Chinese and English, rule-table
decisions in words, "show more" for a long value, and personal data masked by role as before."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from services.demo.data import demo_identity
from tests.e2e.api_support import Caller, demo_task, ok, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]

_NAME, ID_NUMBER, _PHONE = demo_identity(0)
LONG_REASON = "Invoices, discharge summary and the hospital's itemised bill all agree. " * 5  # 360 characters


@pytest.fixture
def site(shared_site: Site) -> Site:
    """One demo site for the module; the paid claim below is the only change to it."""
    return shared_site


@pytest.fixture(scope="module")
def paid(shared_site: Site) -> int:
    """The demo claim waiting for the manager's approval, approved with a long reason and paid out."""
    task, case = demo_task(shared_site, "approve_payout")
    manager = Caller(shared_site, "claims.manager")
    ok(manager.post(f"/api/tasks/{task}/complete", json={"data": {"approved": True, "reason": LONG_REASON}}))
    return case


def _page(site: Site, user: str, lang: str, case: int) -> str:
    client: FlaskClient = site.signed_in(user)
    client.post("/language", data={"lang": lang})
    response = client.get(f"/cases/{case}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _part(page: str, start: str, end: str) -> str:
    return page[page.index(start):page.index(end, page.index(start))]


def test_a_paid_claim_reads_in_sections_in_the_claims_order(site: Site, paid: int) -> None:
    page = _page(site, "claims.manager", "en", paid)
    data = _part(page, 'id="case-data"', 'id="timeline"')
    headings = re.findall(r'<h2 class="h6 case-section-title[^"]*" id="section-(\w+)-title">([^<]+)</h2>', data)
    assert headings == [("claim", "Claim details"), ("policy", "Policy"), ("claimant", "Claimant"),
                        ("assessment", "Assessment"), ("approval", "Approval"), ("payment", "Payment")]
    claim = _part(data, 'id="section-claim"', "</section>")
    assert "Claim type" in claim and "Hospitalization" in claim and "Claimed amount (CNY)" in claim
    assessment = _part(data, 'id="section-assessment"', "</section>")
    assert "Suggested payable amount" in assessment and "Payable amount (CNY)" in assessment
    assert "¥59,500.00" in assessment and "Fraud screening level" in assessment
    payment = _part(data, 'id="section-payment"', "</section>")
    assert "Payment status" in payment and "Accepted by the bank" in payment and "Bank reference" in payment
    zh = _part(_page(site, "claims.manager", "zh", paid), 'id="case-data"', 'id="timeline"')
    assert re.findall(r'id="section-\w+-title">([^<]+)<', zh) == ["理赔信息", "保单", "索赔人", "理算", "审批", "支付"]


def test_internal_values_are_not_in_the_case_data(site: Site, paid: int) -> None:
    data = _part(_page(site, "auditor", "en", paid), 'id="case-data"', 'id="timeline"')
    for internal in ("approval_limit", "Approval limit", "Suggestion tolerance", "suggestion_tolerance",
                     "Amount ratio", "Features", "Claim id", "Customer id", "Notification id", "Survey needed",
                     "Waiting days", "Required documents", "Business key", "Payment id", "Loss amount", "spiff"):
        assert internal not in data, internal


def test_coded_values_read_in_words(site: Site, paid: int) -> None:
    en = _part(_page(site, "adjuster", "en", paid), 'id="case-data"', 'id="timeline"')
    assert "Pay the claim" in en and "Accepted by the bank" in en and "Illness" in en
    assert ">pay<" not in en and ">accepted<" not in en and ">hospitalization<" not in en
    zh = _part(_page(site, "adjuster", "zh", paid), 'id="case-data"', 'id="timeline"')
    assert "住院" in zh and "赔付" in zh and "银行已受理" in zh and re.search(r">[低中高]<", zh)


def test_the_timeline_reads_in_sentences_in_both_languages(site: Site, paid: int) -> None:
    en = _part(_page(site, "claims.manager", "en", paid), 'id="timeline"', "</ol>")
    for sentence in ("claims.clerk started the case",
                     "claims.clerk (Claims clerk) completed “Register claim (first notice of loss)”",
                     "adjuster (Adjuster) completed “Assess amount”",
                     "claims.manager (Claims manager) completed “Approve payout”",
                     "The system verified the claim: every check passed", "The system suggested paying ¥",
                     "The system sent the bank the instruction to pay ¥59,500.00", "The case was completed"):
        assert sentence in en, sentence
    assert re.search(r"The bank confirmed payment SIM-\S+ of ¥59,500\.00", en)
    assert "{'" not in en and "System step" not in en  # no Python reprs, no bare event labels
    zh = _part(_page(site, "claims.manager", "zh", paid), 'id="timeline"', "</ol>")
    for sentence in ("claims.clerk 创建了案件", "claims.manager（理赔经理） 完成了“审批赔付”",
                     "系统核验了赔案：各项检查均通过", "系统向银行发出了 ¥59,500.00 的付款指令", "案件已完成"):
        assert sentence in zh, sentence
    assert re.search(r"银行确认了 ¥59,500\.00 的付款 SIM-", zh)


def test_a_rule_table_decision_reads_as_a_sentence_with_its_inputs(site: Site, paid: int) -> None:
    en = _part(_page(site, "claims.manager", "en", paid), 'id="timeline"', "</ol>")
    screening = re.search(
        r"“Screen for fraud” decided Fraud screening level: (low|medium|high) \(rule (\d+)(: [^)]+)?\)", en)
    assert screening, en[:3000]
    after = en[screening.end():]
    assert "Claims in 12 months:" in after[:2000] and "Days since policy start:" in after[:2000]
    assert "“Decide on survey” decided Survey needed: No" in en


def test_a_long_value_opens_with_show_more(site: Site, paid: int) -> None:
    page = _page(site, "claims.manager", "en", paid)
    approval = _part(page, 'id="section-approval"', "</section>")
    assert '<details class="show-more">' in approval and "show more" in approval and "show less" in approval
    preview = re.search(r'class="show-more-preview">([^<]*)…<', approval)
    assert preview and LONG_REASON.startswith(preview.group(1).replace("&#39;", "'"))
    assert LONG_REASON.strip().replace("'", "&#39;") in approval  # all of it, once opened
    timeline = _part(page, 'id="timeline"', "</ol>")
    assert '<details class="show-more">' in timeline
    assert "<script>" not in approval + timeline  # no inline script (CSP): a <details> element does it


def test_personal_data_stays_masked_for_roles_that_may_not_see_it(site: Site, paid: int) -> None:
    for user in ("claims.manager", "adjuster", "auditor", "claims.clerk"):
        page = _page(site, user, "en", paid)
        assert ID_NUMBER not in page, user
        claimant = _part(page, 'id="section-claimant"', "</section>")
        assert f"••••{ID_NUMBER[-4:]}" in claimant, user
        timeline = _part(page, 'id="timeline"', "</ol>")
        assert f"Claimant&#39;s resident ID number: <span class=\"text-body\">••••{ID_NUMBER[-4:]}" in timeline, user
