"""Every page passes axe-core's WCAG 2.1 A and AA rules with no serious or critical violation, in English and
Chinese, signed out and as the roles that use each page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from engine.workflow.models import HumanTaskModel
from tests.browser.axe import serious
from tests.browser.conftest import LiveSite


def _task(site: LiveSite, key: str) -> tuple[int, int]:
    with site.wired.runtime.uow() as uow:
        row = uow.session.execute(select(HumanTaskModel.id, HumanTaskModel.instance_id).where(
            HumanTaskModel.task_key == key, HumanTaskModel.status == "open").order_by(HumanTaskModel.id)).first()
    return row.id, row.instance_id


def _check(page: Page, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return [f"{url} → {problem}" for problem in serious(page)]


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_pages_staff_and_customers_use_have_no_serious_accessibility_violations(
        live_site: LiveSite, browser: Browser, locale: str) -> None:
    found: list[str] = []
    page = browser.new_context(locale=locale).new_page()
    found += _check(page, f"{live_site.url}/login")
    found += _check(page, f"{live_site.url}/status")
    task_id, case_id = _task(live_site, "assess_amount")
    live_site.sign_in(page, "adjuster")
    for path in ("/", f"/tasks/{task_id}", f"/cases/{case_id}", "/cases"):
        found += _check(page, f"{live_site.url}{path}")
    manager = browser.new_context(locale=locale).new_page()
    live_site.sign_in(manager, "claims.manager")
    found += _check(manager, f"{live_site.url}/dashboard")
    auditor = browser.new_context(locale=locale).new_page()
    live_site.sign_in(auditor, "auditor")
    for path in ("/audit", f"/audit/cases/{case_id}"):
        found += _check(auditor, f"{live_site.url}{path}")
    admin = browser.new_context(locale=locale).new_page()
    live_site.sign_in(admin, "admin")
    found += _check(admin, f"{live_site.url}/admin")
    assert not found, "\n".join(found)
