"""Hostile input gets a 4xx with the reason and changes nothing: NaN and Infinity, nesting 100,000 deep, lone
surrogates (400); ids and pages beyond any column (404/422); NUL and control characters in text, and numbers
that are not finite, in any form or message (422)."""

from __future__ import annotations

import pytest

from tests.e2e.api_support import Caller, demo_task, error, ok, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]


@pytest.fixture(scope="module")
def adjuster(shared_site: Site) -> Caller:
    return Caller(shared_site, "adjuster")


def _raw(caller: Caller, path: str, body: str) -> dict:
    response = caller.client.post(path, data=body, headers={**caller.headers, "Content-Type": "application/json"})
    return error(response, 400)


@pytest.mark.parametrize(("body", "reason"), [
    ('{"data": {"payable_amount": NaN, "note": "x"}}', "NaN is not a number JSON allows"),
    ('{"data": {"payable_amount": Infinity, "note": "x"}}', "Infinity is not a number JSON allows"),
    ('{"data": {"payable_amount": -Infinity, "note": "x"}}', "-Infinity is not a number JSON allows"),
    ('{"data": {"note": "\\ud800"}}', "lone surrogate"),
    ("[" * 100_000 + "]" * 100_000, "nested deeper than 64 levels"),
    ('{"data": {"note": "\\ud83d\\ude00 ' + '[' * 70 + '"}}', None),  # brackets inside a string are text
])
def test_malformed_json_is_400_with_the_reason_and_the_task_stays_open(shared_site: Site, adjuster: Caller,
                                                                       body: str, reason: str | None) -> None:
    task, _case = demo_task(shared_site, "assess_amount")
    response = adjuster.client.post(f"/api/tasks/{task}/complete", data=body,
                                    headers={**adjuster.headers, "Content-Type": "application/json"})
    if reason is None:  # well-formed: it reaches the form check, which wants the decision (pay or deny)
        assert error(response, 422)["details"]["fields"]["decision"] == "is required"
    else:
        assert reason in error(response, 400)["message"]
    assert ok(adjuster.get(f"/api/tasks/{task}"))["status"] == "open"


@pytest.mark.parametrize("path", ["/api/instances/99999999999999999999", "/api/tasks/9223372036854775808",
                                  "/api/instances/2147483648/history"])
def test_ids_beyond_any_column_are_404(adjuster: Caller, path: str) -> None:
    assert error(adjuster.get(path), 404)["code"] == "not_found"


def test_a_page_beyond_any_offset_is_422(shared_site: Site) -> None:
    auditor = Caller(shared_site, "auditor")
    assert error(auditor.get("/api/instances?page=100000000000000000000"), 422)["details"]["fields"]["page"]


@pytest.mark.parametrize("note", ["nul\x00here", "bell\x07", "escape\x1b[31m", "c1\x85"])
def test_control_characters_in_text_are_422_and_nothing_changes(shared_site: Site, adjuster: Caller,
                                                                 note: str) -> None:
    task, case = demo_task(shared_site, "assess_amount")
    response = adjuster.post(f"/api/tasks/{task}/complete", json={"data": {"payable_amount": 100, "note": note}})
    assert error(response, 422)["details"]["fields"] == {"note": "holds a NUL or control character"}
    assert ok(adjuster.get(f"/api/tasks/{task}"))["status"] == "open"
    clerk = Caller(shared_site, "claims.clerk")
    assert error(clerk.post(f"/api/instances/{case}/messages/cancel_policy", json={"why": note}), 422)


def test_newlines_and_tabs_are_text(shared_site: Site) -> None:
    from engine.workflow.forms import refuse_control_characters

    refuse_control_characters({"note": "line one\r\nline two\tand a tab", "items": ["ok"], "amount": 1.5})
