"""The customer's claim-status page: no sign-in, claim number plus the last 4 characters of the ID
number, only steps and dates, one answer for every mismatch, rate limited."""

from __future__ import annotations

import itertools
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from insureflow.demo_data import demo_identity
from tasks.common import BUSINESS_TZ
from tasks.records import ClaimRecord
from tests.e2e.api_support import shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]  # the fixture this module's `site` stands on


@pytest.fixture
def site(shared_site: Site) -> Site:
    """One demo site for the whole module: its tests change nothing that another test here looks at."""
    return shared_site


def _claim(site: Site, status: str) -> ClaimRecord:
    with site.wired.runtime.uow() as uow:
        claim = uow.session.scalar(select(ClaimRecord).where(ClaimRecord.status == status).order_by(ClaimRecord.id))
    assert claim is not None, f"the demo has no {status} claim"
    return claim


_ADDRESSES = itertools.count(1)


def _look_up(client: FlaskClient, number: str, check: str, addr: str | None = None) -> tuple[int, str]:
    # Each look-up from an address of its own unless the test is about one address's limit.
    response = client.post("/status", data={"claim_number": number, "check": check},
                           environ_base={"REMOTE_ADDR": addr or f"198.51.100.{next(_ADDRESSES)}"})
    return response.status_code, response.get_data(as_text=True)


def _without_csrf(answer: tuple[int, str]) -> tuple[int, str]:
    """The answer without its CSRF tokens: they carry the second they were made in, so two pages a second
    apart differ there and nowhere else."""
    return answer[0], re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', answer[1])


def _english(site: Site) -> FlaskClient:
    client = site.client()
    client.post("/language", data={"lang": "en"})
    return client


def test_the_right_number_and_check_show_the_steps_and_dates(site: Site) -> None:
    claim = _claim(site, "assessing")
    status, page = _look_up(_english(site), claim.number, claim.check_code)
    assert status == 200 and f"Claim {claim.number}" in page
    assert "Claim registered" in page and "Amount being assessed" in page
    reported = claim.reported_at.astimezone(BUSINESS_TZ).date().isoformat()
    assert f'<span class="text-body-secondary small ms-2">{reported}</span>' in page


def test_the_page_shows_nothing_personal(site: Site) -> None:
    claim = _claim(site, "assessing")
    _status, page = _look_up(_english(site), claim.number, claim.check_code)
    for index in range(5):
        name, id_number, phone = demo_identity(index)
        assert id_number not in page and phone not in page and name not in page
    assert "PDEMO" not in page and str(claim.claimed_amount) not in page and claim.description not in page


def test_a_wrong_number_and_a_wrong_check_get_the_same_answer(site: Site) -> None:
    claim = _claim(site, "assessing")
    client = _english(site)
    wrong_check = _look_up(client, claim.number, "0000" if claim.check_code != "0000" else "1111")
    wrong_number = _look_up(client, "C19990101999999", claim.check_code)
    assert _without_csrf(wrong_check) == _without_csrf(wrong_number)
    assert wrong_check[0] == 200 and "We could not find a claim" in wrong_check[1]
    assert claim.number not in wrong_check[1]


def test_the_check_is_not_case_sensitive(site: Site) -> None:
    claim = _claim(site, "assessing")
    _status, page = _look_up(_english(site), claim.number, claim.check_code.lower())
    assert f"Claim {claim.number}" in page


def test_look_ups_are_rate_limited_per_address(site: Site) -> None:
    claim = _claim(site, "assessing")
    client = _english(site)
    for _ in range(10):
        assert _look_up(client, "C0", "0000", addr="192.0.2.7")[0] == 200
    status, page = _look_up(client, claim.number, claim.check_code, addr="192.0.2.7")
    assert status == 429 and "Too many look-ups" in page and f"Claim {claim.number}" not in page
    assert f"Claim {claim.number}" in _look_up(client, claim.number, claim.check_code, addr="192.0.2.8")[1]


def test_the_status_page_needs_no_sign_in_and_speaks_chinese(site: Site) -> None:
    client = site.client()
    client.post("/language", data={"lang": "zh"})
    response = client.get("/status")
    assert response.status_code == 200 and "理赔进度查询" in response.get_data(as_text=True)
