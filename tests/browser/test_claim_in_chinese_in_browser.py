"""A claim worked from first notice to payout entirely in Chinese: the clerk, the adjuster and the claims manager
sign in with a Chinese browser and do every task through the pages; no page they visit — inbox, task pages, the
case page with its diagram — shows an English step name, instruction or label of the diagram or its forms."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from lxml import etree
from playwright.sync_api import Browser, Page, expect

from engine.workflow.translations import translatable
from services.demo.data import demo_identity
from tests.browser.conftest import LiveSite

NAME, ID_NUMBER, _PHONE = demo_identity(0)
BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"


def _form_texts(spec: Any) -> list[str]:
    """Every English title and choice label of a form schema (what the task page would show in English)."""
    if not isinstance(spec, dict):
        return []
    found = [spec["title"]] if isinstance(spec.get("title"), str) else []
    found += [t for t in spec.get("x-enum-titles") or [] if isinstance(t, str)]
    for child in (spec.get("properties") or {}).values():
        found += _form_texts(child)
    found += _form_texts(spec.get("items"))
    for key in ("allOf", "anyOf", "oneOf"):
        for child in spec.get(key) or []:
            found += _form_texts(child)
    return found + _form_texts(spec.get("then")) + _form_texts(spec.get("else"))


def english_texts() -> list[str]:
    """The English of the claims diagram's elements, lanes and instructions and of every form it shows: the phrases
    a Chinese page must not show (short words — "yes", "pay" — and codes, which a user name or a number could
    hold, are left out)."""
    tree = etree.parse(str(BPMN_DIR / "claims.bpmn"))
    wanted = translatable(tree, "bpmn")
    phrases = [english for _what, english in wanted.names.values()]
    # The instructions' words before their first placeholder.
    phrases += [re.split(r"\{[{%]", text)[0].strip()[:60] for text in wanted.instructions.values()]
    for form in sorted((BPMN_DIR / "forms").glob("claims_*.json")):
        phrases += _form_texts(json.loads(form.read_text(encoding="utf-8")))
    return sorted({p for p in phrases if len(p) >= 8 and " " in p and re.search(r"[a-z]", p)})


ENGLISH = english_texts()


def assert_no_english(page: Page, where: str) -> None:
    """The visible text of the page (the diagram's labels included) holds none of the English phrases."""
    shown = page.locator("body").inner_text()
    shown += " ".join(page.locator("svg text").all_text_contents())
    found = [phrase for phrase in ENGLISH if phrase in shown]
    assert not found, f"{where}: English on a Chinese page: {found}"


def _chinese_page(browser: Browser) -> Page:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    context.set_default_timeout(15_000)
    return context.new_page()


def _open_task(site: LiveSite, page: Page, claim_number: str, task_name: str) -> None:
    row = page.locator("#inbox-table tbody tr", has_text=claim_number)
    expect(row).to_contain_text(task_name)
    assert_no_english(page, "inbox")
    row.locator("a", has_text=task_name).click()
    expect(page.locator("#task-title")).to_have_text(task_name)
    assert_no_english(page, task_name)


def test_a_claim_is_worked_from_first_notice_to_payout_entirely_in_chinese(live_site: LiveSite,
                                                                           browser: Browser) -> None:
    assert len(ENGLISH) > 100
    clerk = _chinese_page(browser)
    live_site.sign_in(clerk, "claims.clerk")
    clerk.goto(f"{live_site.url}/start")
    clerk.click("#start-claims button[type=submit]")
    expect(clerk.locator("#task-title")).to_have_text("理赔报案登记")
    expect(clerk.locator("#instructions")).to_contain_text("按理赔申请人的陈述登记报案")
    assert_no_english(clerk, "register claim")
    incident = (live_site.wired.runtime.clock() - timedelta(days=3)).date().isoformat()
    clerk.fill("#f-policy_number", "PDEMO0001")
    clerk.fill("#f-claimant_name", NAME)
    clerk.fill("#f-claimant_id_number", ID_NUMBER)
    clerk.fill("#f-incident_date", incident)
    clerk.select_option("#f-claim_type", "hospitalization")
    clerk.check("input[name=cause_of_loss][value=illness]")
    clerk.fill("#f-description", "阑尾炎手术，住院4晚")
    clerk.fill("#f-claimed_amount", "68000")
    documents = clerk.locator("input[name=documents]")
    for index in range(documents.count()):
        documents.nth(index).check()
    clerk.fill("#f-payee_account", "6222020200112233445")
    clerk.select_option("#f-region", "beijing")
    clerk.click("#submit-task")
    clerk.wait_for_url(f"{live_site.url}/")
    found = re.search(r"C\d{14}", clerk.locator(".alert-success").inner_text())
    assert found is not None
    claim_number = found[0]
    assert_no_english(clerk, "inbox after registering")

    adjuster = _chinese_page(browser)
    live_site.sign_in(adjuster, "adjuster")
    _open_task(live_site, adjuster, claim_number, "核定赔付金额")
    expect(adjuster.locator("#instructions")).to_contain_text("建议金额：67500.00 元")
    adjuster.check("input[name=decision][value=pay]")
    adjuster.fill("#f-payable_amount", "67500")
    adjuster.fill("#f-note", "全额赔付")
    adjuster.click("#submit-task")
    adjuster.wait_for_url(f"{live_site.url}/")

    manager = _chinese_page(browser)
    live_site.sign_in(manager, "claims.manager")
    _open_task(live_site, manager, claim_number, "审批赔付")
    expect(manager.locator("#instructions")).to_contain_text("理算员核定赔付 67500")
    manager.check("input[name=approved][value=true]")
    manager.fill("#f-reason", "材料齐全")
    manager.click("#submit-task")
    manager.wait_for_url(f"{live_site.url}/")
    case_url = manager.locator(".alert-success a[href^='/cases/']").first.get_attribute("href")
    manager.goto(f"{live_site.url}{case_url}")
    expect(manager.locator("#case-status")).to_have_text("已完成")  # paid out: the case ended
    label = manager.locator('#diagram .djs-element[data-element-id="svc_verify_claim"] text')
    expect(label).to_contain_text("理赔审核")  # the diagram drawn in Chinese
    expect(manager.locator("body")).to_contain_text("赔款支付")
    assert_no_english(manager, "case page")
    for other in (clerk, adjuster, manager):
        other.context.close()
