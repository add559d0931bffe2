"""The customer's claim status look-up and the claimant's messages over HTTP: no sign-in, the access code in a
POST body (never in the URL), steps and dates only, one 404, limited per address and per claim."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.workflow.models import EventModel
from tasks.claimant_notes import ClaimantNoteRecord
from tasks.common import BUSINESS_TZ
from tasks.records import ClaimRecord, ClaimStatusRecord, CustomerRecord, PolicyRecord
from tests.e2e.api_support import Caller, demo_task, error, ok, shared_site
from tests.e2e.claim_codes import access_code, claim_in, wrong
from tests.e2e.conftest import Site

__all__ = ["shared_site"]

LIMIT, WINDOW = 10, 600  # the defaults: 10 look-ups per address in 10 minutes
CLAIM_LIMIT = 5  # wrong codes per claim per day
_addresses = count(1)


class Visitor:
    """A customer's browser at an address of its own, so that each test starts with a fresh rate limit."""

    def __init__(self, site: Site):
        self.client: FlaskClient = site.client()
        self.address = f"127.0.1.{next(_addresses)}"

    def look_up(self, claim_number: str, code: str | None) -> TestResponse:
        body = {} if code is None else {"code": code}
        return self.client.post(f"/api/public/claims/{claim_number}", json=body,
                                environ_base={"REMOTE_ADDR": self.address})

    def tell(self, claim_number: str, code: str, text: Any, name: str = "claim_documents_sent") -> TestResponse:
        return self.client.post(f"/api/public/claims/{claim_number}/messages/{name}", json={"code": code, "text": text},
                                environ_base={"REMOTE_ADDR": self.address})


@pytest.fixture(scope="module")
def claim(shared_site: Site) -> ClaimRecord:
    """The demo claim waiting for payout approval, with its timeline."""
    case = demo_task(shared_site, "approve_payout")[1]
    with shared_site.wired.runtime.uow() as uow:
        record = uow.session.scalar(select(ClaimRecord).where(ClaimRecord.instance_id == case))
        uow.session.expunge(record)
    return record


def timeline(site: Site, claim: ClaimRecord) -> list[dict[str, str]]:
    with site.wired.runtime.uow() as uow:
        rows = uow.session.scalars(select(ClaimStatusRecord).where(ClaimStatusRecord.claim_id == claim.id)
                                   .order_by(ClaimStatusRecord.occurred_at, ClaimStatusRecord.id))
        return [{"status": r.status, "date": r.occurred_at.astimezone(BUSINESS_TZ).date().isoformat()} for r in rows]


def test_the_right_number_and_code_give_the_status_steps_and_dates_without_signing_in(shared_site: Site,
                                                                                      claim: ClaimRecord) -> None:
    response = Visitor(shared_site).look_up(claim.number, access_code(shared_site, claim))
    body = ok(response)
    assert body == {"claim_number": claim.number, "steps": timeline(shared_site, claim)}
    assert len(body["steps"]) >= 2 and body["steps"][0]["status"] == "registered"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_number_is_matched_case_insensitively_and_the_code_however_it_is_typed(shared_site: Site,
                                                                                   claim: ClaimRecord) -> None:
    code = access_code(shared_site, claim)
    answer = ok(Visitor(shared_site).look_up(f" {claim.number.lower()} ", code.lower().replace("-", " ")))
    assert answer["claim_number"] == claim.number


def test_the_old_check_in_the_url_query_is_refused(shared_site: Site, claim: ClaimRecord) -> None:
    """Before: GET /api/public/claims/<number>?check=<last 4 of the ID number> answered the status."""
    visitor = Visitor(shared_site)
    old = visitor.client.get(f"/api/public/claims/{claim.number}", query_string={"check": claim.check_code},
                             environ_base={"REMOTE_ADDR": visitor.address})
    assert old.status_code == 405 and "steps" not in old.get_data(as_text=True)
    # The ID number's last 4 characters in the body are just a wrong code.
    error(visitor.look_up(claim.number, claim.check_code), 404)


def test_nothing_personal_is_in_the_answer(shared_site: Site, claim: ClaimRecord) -> None:
    text = Visitor(shared_site).look_up(claim.number, access_code(shared_site, claim)).get_data(as_text=True)
    cipher = shared_site.wired.runtime.services.cipher
    with shared_site.wired.runtime.uow() as uow:
        policy = uow.session.get(PolicyRecord, claim.policy_id).number
        claimant = uow.session.get(CustomerRecord, claim.claimant_id)
        name, id_number = claimant.name, cipher.decrypt(claimant.id_number_enc)
    for secret in (name, id_number, policy, cipher.decrypt(claim.payee_account_enc), str(int(claim.claimed_amount)),
                   claim.claim_type, claim.region):
        assert secret not in text


def test_a_wrong_number_and_a_wrong_code_give_the_same_404(shared_site: Site) -> None:
    claim = claim_in(shared_site, "assessing")
    code = access_code(shared_site, claim)
    visitor = Visitor(shared_site)
    wrong_code = visitor.look_up(claim.number, wrong(code))
    wrong_number = visitor.look_up("C00000000000000", code)
    assert error(wrong_code, 404) == error(wrong_number, 404)
    assert wrong_code.get_data() == wrong_number.get_data()


def test_a_missing_code_is_422(shared_site: Site, claim: ClaimRecord) -> None:
    assert "code" in error(Visitor(shared_site).look_up(claim.number, None), 422)["details"]["fields"]


def test_the_look_up_is_rate_limited_per_address(shared_site: Site, claim: ClaimRecord) -> None:
    visitor = Visitor(shared_site)
    code = access_code(shared_site, claim)
    statuses = [visitor.look_up(f"C0000000000{i:04d}", "AAAAA-AAAAA").status_code for i in range(LIMIT)]
    assert statuses == [404] * LIMIT
    refused = visitor.look_up(claim.number, code)  # even the right answer waits now
    problem = error(refused, 429)
    assert problem["code"] == "rate_limited" and 0 < int(refused.headers["Retry-After"]) <= WINDOW
    assert ok(Visitor(shared_site).look_up(claim.number, code))["claim_number"] == claim.number


def test_wrong_codes_from_many_addresses_lock_the_claim_and_its_history_records_it(shared_site: Site) -> None:
    claim = claim_in(shared_site, "under_investigation") if _has(shared_site, "under_investigation") \
        else claim_in(shared_site, "assessing", 1)
    code = access_code(shared_site, claim)
    answers = [Visitor(shared_site).look_up(claim.number, wrong(code)) for _ in range(CLAIM_LIMIT + 1)]
    assert [a.status_code for a in answers] == [404] * (CLAIM_LIMIT - 1) + [429] * 2
    assert error(answers[-1], 429)["code"] == "claim_locked"
    locked = Visitor(shared_site).look_up(claim.number, code)  # the right code, from a fresh address
    assert error(locked, 429)["code"] == "claim_locked" and "please call us" in error(locked, 429)["message"]
    with shared_site.wired.runtime.uow() as uow:
        notes = list(uow.session.scalars(select(EventModel).where(EventModel.instance_id == claim.instance_id,
                                                                  EventModel.type == "record_changed")))
    assert len(notes) == 1 and notes[0].actor == "claim status page"


def _has(site: Site, status: str) -> bool:
    with site.wired.runtime.uow() as uow:
        return uow.session.scalar(select(ClaimRecord.id).where(ClaimRecord.status == status)) is not None


def test_staff_endpoints_refuse_the_customers_message(shared_site: Site) -> None:
    claim = claim_in(shared_site, "documents_requested")
    clerk = Caller(shared_site, "claims.clerk")
    by_case = clerk.post(f"/api/instances/{claim.instance_id}/messages/claim_documents_sent", json={"note": "sent"})
    by_name = clerk.post("/api/messages/claim_documents_sent", json={"data": {"note": "sent"}})
    for refused in (by_case, by_name):
        assert "sent by the customer" in error(refused, 403)["message"]


def test_the_claimant_tells_the_insurer_the_documents_were_sent(shared_site: Site) -> None:
    claim = claim_in(shared_site, "documents_requested")
    code = access_code(shared_site, claim)
    visitor = Visitor(shared_site)
    assert "text" in error(visitor.tell(claim.number, code, "sent\x00"), 422)["details"]["fields"]
    assert "text" in error(visitor.tell(claim.number, code, "x" * 501), 422)["details"]["fields"]
    error(visitor.tell(claim.number, wrong(code), "sent"), 404)

    answer = ok(visitor.tell(claim.number, code, "Posted the photos today (EMS 1234)."), 202)

    assert answer == {"claim_number": claim.number, "message": "claim_documents_sent", "received": True}
    with shared_site.wired.runtime.uow() as uow:
        [note] = uow.session.scalars(select(ClaimantNoteRecord).where(ClaimantNoteRecord.claim_id == claim.id))
    assert note.text == "Posted the photos today (EMS 1234)."
    assert error(visitor.tell(claim.number, code, "again"), 409)["code"] == "conflict"  # told once per request


def test_the_customer_path_refuses_a_message_that_is_not_the_customers(shared_site: Site) -> None:
    claim = claim_in(shared_site, "documents_requested")
    answer = Visitor(shared_site).tell(claim.number, access_code(shared_site, claim), "cancel", name="cancel_policy")
    assert error(answer, 409)["code"] == "conflict"  # the case waits for no such message from anyone


def test_no_access_code_reaches_a_request_line(shared_site: Site) -> None:
    """What werkzeug and gunicorn log of a request is its request line (method, path and query): the code is in
    none of them, whichever way the claimant uses it."""
    lines: list[str] = []
    inner = shared_site.app.wsgi_app

    def logged(environ: dict[str, Any], start_response: Any) -> Any:
        query = environ.get("QUERY_STRING")
        lines.append(f'{environ["REQUEST_METHOD"]} {environ["PATH_INFO"]}{"?" + query if query else ""}')
        return inner(environ, start_response)

    claim = claim_in(shared_site, "assessing")
    code = access_code(shared_site, claim)
    shared_site.app.wsgi_app = logged  # type: ignore[method-assign]
    try:
        visitor = Visitor(shared_site)
        ok(visitor.look_up(claim.number, code))
        visitor.tell(claim.number, code, "sent")
        visitor.client.post("/status", data={"claim_number": claim.number, "access_code": code},
                            environ_base={"REMOTE_ADDR": visitor.address})
    finally:
        shared_site.app.wsgi_app = inner  # type: ignore[method-assign]
    assert len(lines) == 3
    for form in (code, code.replace("-", ""), code.lower()):
        assert all(form not in line for line in lines), lines
