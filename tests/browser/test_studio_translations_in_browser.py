"""The studio's Chinese texts in a real browser: an analyst sees every name and instruction of the claims diagram
beside its Chinese, clears one (validation names the file and element), writes it anew, saves, validates and
deploys: the new version's translation file carries it."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from engine.workflow import deployments
from tests.browser.conftest import LiveSite

ROW = '#translation-table tr[data-element="svc_verify_claim"][data-section="names"] input'


def test_an_analyst_edits_a_chinese_name_in_the_studio_and_deploys_it(live_site: LiveSite, page: Page) -> None:
    live_site.sign_in(page, "analyst")
    page.goto(f"{live_site.url}/studio/claims/edit")
    expect(page.locator("#modeler.modeler-ready")).to_be_visible()
    page.click("#tab-translations-button")
    expect(page.locator("#translation-table.translations-ready")).to_be_visible()
    expect(page.locator("#translation-file")).to_have_text("claims.zh.json")
    expect(page.locator(ROW)).to_have_value("理赔审核")
    expect(page.locator('#translation-table tr[data-element="svc_verify_claim"]').first).to_contain_text("Verify claim")
    instructions = page.locator('#translation-table tr[data-element="assess_amount"][data-section="instructions"]')
    expect(instructions.locator("textarea")).to_have_value(json.loads(
        deployed_translation(live_site, 1))["instructions"]["assess_amount"])

    page.fill(ROW, "")
    page.click("#validate-draft")
    problem = page.locator('#problem-list .problem-engine[data-element="svc_verify_claim"]')
    expect(problem).to_contain_text("claims.zh.json")
    expect(problem).to_contain_text("no zh name for serviceTask 'Verify claim'")

    page.fill(ROW, "核实理赔")
    page.click("#save-draft")
    expect(page.locator("#draft-status")).to_have_text("Saved")
    page.click("#validate-draft")
    expect(page.locator("#draft-status")).to_have_text("No problems found.")
    page.fill("#deploy-comment", "clearer Chinese for the verification step")
    page.click("#deploy-button")
    page.wait_for_url(f"{live_site.url}/studio/claims/versions/2")
    assert json.loads(deployed_translation(live_site, 2))["names"]["svc_verify_claim"] == "核实理赔"


def deployed_translation(site: LiveSite, version: int) -> str:
    _info, files = deployments.version_files(site.wired.runtime, "claims", version)
    return files["claims.zh.json"].decode()
