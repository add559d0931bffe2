"""axe-core (from the npm registry, node_modules/axe-core) run in the page under test: the WCAG 2.1 A and AA
rules. Evaluated through the browser's devtools channel, so the page's strict CSP stays on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = ("serious", "critical")


def violations(page: Page) -> list[dict[str, Any]]:
    """Every WCAG 2.1 A/AA violation axe finds on the page as it stands."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RULES)
    return result["violations"]


def serious(page: Page) -> list[str]:
    """The serious and critical violations, each as 'rule: where (why)' for an assertion message."""
    return [f"{v['id']}: {node['target']} ({v['help']})" for v in violations(page) if v["impact"] in SERIOUS
            for node in v["nodes"]]
