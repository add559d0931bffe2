"""The diagram component on the case page and in the audit view: the same steps marked in both (scripts and
rule tables included), zoom and fit buttons, the wheel scrolling the page unless Ctrl is held, and a click on
a step listing its history."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from engine.workflow.models import HumanTaskModel
from tests.browser.conftest import LiveSite

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MARKED = """(selector) => Array.from(document.querySelectorAll(selector + ' .djs-element.if-done'))
    .map(node => node.getAttribute('data-element-id')).sort()"""
SCALE = """(selector) => {
    const viewport = document.querySelector(selector + ' .viewport');
    const matrix = viewport.transform.baseVal.consolidate();
    return matrix ? matrix.matrix.a : 1;
}"""


def _assessed_claim(site: LiveSite) -> int:
    with site.wired.runtime.uow() as uow:
        return uow.session.scalar(select(HumanTaskModel.instance_id).where(
            HumanTaskModel.task_key == "assess_amount", HumanTaskModel.status == "open").order_by(HumanTaskModel.id))


def test_the_case_page_marks_what_the_audit_view_marks_at_the_last_step(live_site: LiveSite, page: Page) -> None:
    case_id = _assessed_claim(live_site)
    live_site.sign_in(page, "auditor")
    page.goto(f"{live_site.url}/cases/{case_id}")
    expect(page.locator("#diagram.diagram-ready")).to_be_attached()
    on_case_page = page.evaluate(MARKED, "#diagram")
    page.goto(f"{live_site.url}/audit/cases/{case_id}")
    expect(page.locator("#audit-diagram.diagram-ready")).to_be_attached()
    in_audit = page.evaluate(MARKED, "#audit-diagram")
    assert on_case_page == in_audit
    # The rule tables and scripts the case ran are marked too, not only the steps that wrote history.
    assert {"screen_fraud", "survey_rules", "claim_requirements"} <= set(on_case_page)


def test_zoom_buttons_the_wheel_and_a_clicked_step(live_site: LiveSite, page: Page) -> None:
    case_id = _assessed_claim(live_site)
    live_site.sign_in(page, "claims.manager")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_site.url}/cases/{case_id}")
    expect(page.locator("#diagram.diagram-ready")).to_be_attached()
    loaded = page.evaluate(SCALE, "#diagram")
    assert loaded >= 0.6 - 1e-6  # readable on load: the waiting step shown, not a thumbnail of the whole
    page.click("#diagram-zoom-in")
    assert page.evaluate(SCALE, "#diagram") > loaded
    page.click("#diagram-fit")
    fitted = page.evaluate(SCALE, "#diagram")
    page.click("#diagram-reset")
    assert abs(page.evaluate(SCALE, "#diagram") - 1.0) < 1e-6
    page.click("#diagram-fit")
    assert abs(page.evaluate(SCALE, "#diagram") - fitted) < 1e-6

    box = page.locator("#diagram").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    before = page.evaluate("() => window.scrollY")
    page.mouse.wheel(0, 300)  # no Ctrl: the page scrolls, the diagram keeps its scale
    page.wait_for_function(f"() => window.scrollY > {before}")
    assert abs(page.evaluate(SCALE, "#diagram") - fitted) < 1e-6
    page.keyboard.down("Control")
    page.mouse.wheel(0, -200)  # Ctrl held: the diagram zooms in
    page.keyboard.up("Control")
    assert page.evaluate(SCALE, "#diagram") > fitted

    page.click("#diagram-fit")
    shape = page.locator('#diagram .djs-element.djs-shape[data-element-id="register_claim"]').first
    shape.click(position={"x": 8, "y": 8}, force=True)  # a corner of the task, clear of any flow's label
    history = page.locator("#diagram-node-history")
    expect(history).to_be_visible()
    expect(history).to_contain_text("Register claim")
    expect(history).to_contain_text("claims.clerk")


def test_the_case_page_in_english_and_chinese(live_site: LiveSite, browser: Browser) -> None:
    case_id = _assessed_claim(live_site)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for locale, lang in (("en-US", "en"), ("zh-CN", "zh")):
        page = browser.new_context(locale=locale, viewport={"width": 1440, "height": 900}).new_page()
        live_site.sign_in(page, "claims.manager")
        page.goto(f"{live_site.url}/cases/{case_id}")
        expect(page.locator("#diagram.diagram-ready")).to_be_attached()
        expect(page.locator("html")).to_have_attribute("lang", re.compile(f"^{lang}"))
        page.screenshot(path=str(SCREENSHOTS / f"case-page-{lang}.png"), full_page=True)
        page.context.close()
