"""The managers' dashboard in a real browser: the charts are drawn from the same figures as the tables, the
tables match a direct count of the database, and the page is reached from the navigation bar."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from engine.workflow.models import HumanTaskModel
from tests.browser.conftest import LiveSite

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CLAIMS_TEAM = ("claims_clerk", "surveyor", "adjuster", "claims_manager", "siu", "finance")


def test_the_claims_managers_dashboard_draws_the_counts_the_database_holds(live_site: LiveSite, page: Page) -> None:
    live_site.sign_in(page, "claims.manager")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("h1")).to_have_text("Dashboard")

    with live_site.wired.runtime.uow() as uow:
        open_cases = uow.session.scalar(
            select(func.count(func.distinct(HumanTaskModel.instance_id)).label("n"))
            .where(HumanTaskModel.status == "open", HumanTaskModel.candidate_role.in_(CLAIMS_TEAM)))
        per_step = uow.session.execute(
            select(HumanTaskModel.task_key, func.count(func.distinct(HumanTaskModel.instance_id)))
            .where(HumanTaskModel.status == "open", HumanTaskModel.candidate_role.in_(CLAIMS_TEAM))
            .group_by(HumanTaskModel.task_key)).all()
    shown = page.locator("#table-steps td[data-count=cases]").all_inner_texts()
    assert sorted(int(n) for n in shown) == sorted(n for _k, n in per_step)
    assert sum(int(n) for n in shown) >= open_cases > 0  # a case may wait at two steps at once

    # Chart.js drew each chart from the page's data block: the bars add up to the table's numbers.
    drawn = page.evaluate("""() => Object.fromEntries(['chart-steps', 'chart-claims'].map(id => {
        const chart = Chart.getChart(document.getElementById(id));
        return [id, chart ? chart.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0)) : null];
    }))""")
    assert drawn["chart-steps"][0] == sum(int(n) for n in shown)
    paid = sum(int(n) for n in page.locator("#table-claims td[data-count=paid]").all_inner_texts())
    denied = sum(int(n) for n in page.locator("#table-claims td[data-count=denied]").all_inner_texts())
    assert drawn["chart-claims"] == [paid, denied]
    expect(page.locator("#median-to-payout")).to_contain_text("Median time from first notice of loss to payout")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-en.png"), full_page=True)
