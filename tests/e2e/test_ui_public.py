"""The customer's claim-status page: no sign-in, claim number plus the access code from the acknowledgement in
a POST form (never the URL), only steps, dates and the amount paid, one answer for every mismatch, limited per
address and per claim; while documents are asked for, the claimant can say they sent them."""

from __future__ import annotations

import itertools
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.workflow.models import HumanTaskModel
from services.demo.data import demo_identity
from tasks.claimant_notes import ClaimantNoteRecord
from tasks.common import BUSINESS_TZ
from tasks.records import ClaimRecord
from tests.e2e.api_support import shared_site
from tests.e2e.claim_codes import access_code, claim_in, wrong
from tests.e2e.conftest import Site

__all__ = ["shared_site"]  # the fixture this module's `site` stands on


@pytest.fixture
def site(shared_site: Site) -> Site:
    """One demo site for the whole module: its tests change nothing that another test here looks at."""
    return shared_site


def _claim(site: Site, status: str, nth: int = 0) -> ClaimRecord:
    return claim_in(site, status, nth)


_ADDRESSES = itertools.count(1)


def _look_up(client: FlaskClient, number: str, check: str, addr: str | None = None) -> tuple[int, str]:
    # Each look-up from an address of its own unless the test is about one address's limit.
    response = client.post("/status", data={"claim_number": number, "access_code": check},
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
    status, page = _look_up(_english(site), claim.number, access_code(site, claim))
    assert status == 200 and f"Claim {claim.number}" in page
    assert "Claim registered" in page and "Amount being assessed" in page
    reported = claim.reported_at.astimezone(BUSINESS_TZ).date().isoformat()
    assert f'<span class="text-body-secondary small ms-2">{reported}</span>' in page


def test_the_page_shows_nothing_personal(site: Site) -> None:
    claim = _claim(site, "assessing")
    _status, page = _look_up(_english(site), claim.number, access_code(site, claim))
    assert f"Claim {claim.number}" in page
    for index in range(5):
        name, id_number, phone = demo_identity(index)
        assert id_number not in page and phone not in page and name not in page
    assert "PDEMO" not in page and str(claim.claimed_amount) not in page and claim.description not in page


def test_a_wrong_number_and_a_wrong_code_get_the_same_answer(site: Site) -> None:
    claim = _claim(site, "assessing")
    client = _english(site)
    wrong_check = _look_up(client, claim.number, wrong(access_code(site, claim)))
    wrong_number = _look_up(client, "C19990101999999", access_code(site, claim))
    assert _without_csrf(wrong_check) == _without_csrf(wrong_number)
    assert wrong_check[0] == 200 and "We could not find a claim" in wrong_check[1]
    assert claim.number not in wrong_check[1]


def test_the_number_and_code_are_not_case_sensitive_and_the_id_digits_no_longer_open_it(site: Site) -> None:
    claim = _claim(site, "assessing")
    _status, page = _look_up(_english(site), f" {claim.number.lower()} ", access_code(site, claim).lower())
    assert f"Claim {claim.number}" in page
    _status, page = _look_up(_english(site), claim.number, claim.check_code)
    assert f"Claim {claim.number}" not in page and "We could not find a claim" in page


def test_the_old_check_in_the_url_query_is_refused(site: Site) -> None:
    """Before: /status?claim_number=…&check=… showed the claim. Now a GET shows the empty form only, and the
    forms post to URLs without a query: no code reaches an access log."""
    claim = _claim(site, "assessing")
    page = _english(site).get("/status", query_string={"claim_number": claim.number, "check": claim.check_code,
                                                       "access_code": access_code(site, claim)})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and f"Claim {claim.number}" not in text and "status-result" not in text
    assert re.search(r'<form method="post" action="/status" ', text)


def test_look_ups_are_rate_limited_per_address(site: Site) -> None:
    claim = _claim(site, "assessing")
    client = _english(site)
    code = access_code(site, claim)
    for index in range(10):
        assert _look_up(client, f"C0{index}", "0000", addr="192.0.2.7")[0] == 200
    status, page = _look_up(client, claim.number, code, addr="192.0.2.7")
    assert status == 429 and "Too many look-ups" in page and f"Claim {claim.number}" not in page
    assert f"Claim {claim.number}" in _look_up(client, claim.number, code, addr="192.0.2.8")[1]


def test_the_status_page_needs_no_sign_in_and_speaks_chinese(site: Site) -> None:
    client = site.client()
    client.post("/language", data={"lang": "zh"})
    response = client.get("/status")
    assert response.status_code == 200 and "理赔进度查询" in response.get_data(as_text=True)


def test_wrong_codes_lock_the_claim_and_the_page_says_to_call(site: Site) -> None:
    claim = _claim(site, "paid") if _exists(site, "paid") else _claim(site, "assessing", 1)
    code, client = access_code(site, claim), _english(site)
    answers = [_look_up(client, claim.number, wrong(code)) for _ in range(5)]
    assert [a[0] for a in answers] == [200] * 4 + [429]
    status, page = _look_up(client, claim.number, code)
    assert status == 429 and "please call" in page and f"Claim {claim.number}" not in page


def _exists(site: Site, status: str) -> bool:
    with site.wired.runtime.uow() as uow:
        return uow.session.scalar(select(ClaimRecord.id).where(ClaimRecord.status == status)) is not None


def test_the_claimant_says_the_documents_were_sent_and_the_clerk_sees_it(site: Site) -> None:
    claim = _claim(site, "documents_requested")
    code, client = access_code(site, claim), _english(site)
    _status, page = _look_up(client, claim.number, code)
    assert 'id="documents-sent-form"' in page and code not in page

    def tell(note: str, with_code: str = code) -> tuple[int, str]:
        response = client.post(f"/status/claims/{claim.number}/documents-sent",
                               data={"access_code": with_code, "note": note},
                               environ_base={"REMOTE_ADDR": f"198.51.100.{next(_ADDRESSES)}"})
        return response.status_code, response.get_data(as_text=True)

    assert tell("sent", wrong(code))[1].count("We could not find a claim") == 1
    assert tell("sent\x1b[2J")[0] == 422
    status, page = tell("Handed the photos in at the Hangzhou counter.")
    assert status == 200 and "the claims team has your message" in page and 'id="documents-sent-form"' not in page
    with site.wired.runtime.uow() as uow:
        [note] = uow.session.scalars(select(ClaimantNoteRecord).where(ClaimantNoteRecord.claim_id == claim.id))
    assert note.text == "Handed the photos in at the Hangzhou counter."
    assert tell("again")[0] == 409
    clerk = site.signed_in("claims.clerk")
    with site.wired.runtime.uow() as uow:
        task = uow.session.scalar(select(HumanTaskModel.id).where(HumanTaskModel.instance_id == claim.instance_id,
                                                                  HumanTaskModel.status == "open"))
    clerk.post("/language", data={"lang": "en"})
    task_page = clerk.get(f"/tasks/{task}").get_data(as_text=True)
    assert "Handed the photos in at the Hangzhou counter." in task_page
