"""The customer's claim status look-up over HTTP: no sign-in, steps and dates only, one 404, rate limited."""

from __future__ import annotations

from itertools import count

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from tasks.common import BUSINESS_TZ
from tasks.records import ClaimRecord, ClaimStatusRecord, CustomerRecord, PolicyRecord
from tests.e2e.api_support import demo_task, error, ok, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]

LIMIT, WINDOW = 10, 600  # the defaults: 10 look-ups per address in 10 minutes
_addresses = count(1)


class Visitor:
    """A customer's browser at an address of its own, so that each test starts with a fresh rate limit."""

    def __init__(self, site: Site):
        self.client: FlaskClient = site.client()
        self.address = f"127.0.1.{next(_addresses)}"

    def look_up(self, claim_number: str, check: str | None) -> TestResponse:
        query = {} if check is None else {"check": check}
        return self.client.get(f"/api/public/claims/{claim_number}", query_string=query,
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


def test_the_right_number_and_check_give_the_status_steps_and_dates_without_signing_in(shared_site: Site,
                                                                                        claim: ClaimRecord) -> None:
    response = Visitor(shared_site).look_up(claim.number, claim.check_code)
    body = ok(response)
    assert body == {"claim_number": claim.number, "steps": timeline(shared_site, claim)}
    assert len(body["steps"]) >= 2 and body["steps"][0]["status"] == "registered"
    assert response.headers["Cache-Control"] == "no-store"


def test_nothing_personal_is_in_the_answer(shared_site: Site, claim: ClaimRecord) -> None:
    text = Visitor(shared_site).look_up(claim.number, claim.check_code).get_data(as_text=True)
    cipher = shared_site.wired.runtime.services.cipher
    with shared_site.wired.runtime.uow() as uow:
        policy = uow.session.get(PolicyRecord, claim.policy_id).number
        claimant = uow.session.get(CustomerRecord, claim.claimant_id)
        name, id_number = claimant.name, cipher.decrypt(claimant.id_number_enc)
    for secret in (name, id_number, policy, cipher.decrypt(claim.payee_account_enc), str(int(claim.claimed_amount)),
                   claim.claim_type, claim.region):
        assert secret not in text


def test_a_wrong_number_and_a_wrong_check_give_the_same_404(shared_site: Site, claim: ClaimRecord) -> None:
    visitor = Visitor(shared_site)
    wrong_check = visitor.look_up(claim.number, "0000" if claim.check_code != "0000" else "1111")
    wrong_number = visitor.look_up("C00000000000000", claim.check_code)
    assert error(wrong_check, 404) == error(wrong_number, 404)
    assert wrong_check.get_data() == wrong_number.get_data()


def test_a_missing_check_is_422(shared_site: Site, claim: ClaimRecord) -> None:
    assert "check" in error(Visitor(shared_site).look_up(claim.number, None), 422)["details"]["fields"]


def test_the_look_up_is_rate_limited_per_address(shared_site: Site, claim: ClaimRecord) -> None:
    visitor = Visitor(shared_site)
    statuses = [visitor.look_up(claim.number, "0000").status_code for _ in range(LIMIT)]
    assert statuses == [404] * LIMIT
    refused = visitor.look_up(claim.number, claim.check_code)  # even the right answer waits now
    problem = error(refused, 429)
    assert problem["code"] == "rate_limited" and 0 < int(refused.headers["Retry-After"]) <= WINDOW
    assert ok(Visitor(shared_site).look_up(claim.number, claim.check_code))["claim_number"] == claim.number


