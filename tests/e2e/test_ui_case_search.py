"""Finding a case (/cases): by claim or policy number, a customer's resident ID number or part of a name,
process and status — and never a case the searcher may not read (the same need to know as opening it)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from engine.workflow.access import case_access, visible_cases
from engine.workflow.actors import actor_for
from engine.workflow.models import InstanceModel, UserModel
from services.demo.data import CUSTOMERS, id_number
from tasks.records import ClaimRecord, PolicyRecord
from tests.e2e.conftest import Site


def _english(site: Site, user: str) -> FlaskClient:
    client = site.signed_in(user)
    client.post("/language", data={"lang": "en"})
    return client


def _found(client: FlaskClient, **params: str) -> list[int]:
    response = client.get("/cases", query_string=params)
    assert response.status_code == 200
    return [int(i) for i in re.findall(r'<tr data-case-id="(\d+)">', response.get_data(as_text=True))]


def test_the_database_decides_visibility_exactly_as_opening_the_case_does(site: Site) -> None:
    rt = site.wired.runtime
    with rt.uow(read_only=True) as uow:
        users = uow.session.scalars(select(UserModel.username)).all()
        cases = uow.session.scalars(select(InstanceModel)).all()
        for username in users:
            actor = actor_for(uow, username)
            shown = set(uow.session.scalars(select(InstanceModel.id).where(visible_cases(rt.settings, actor))))
            readable = {c.id for c in cases if case_access(uow.session, rt.settings, c, actor).read}
            assert shown == readable, username


def test_a_policy_number_finds_its_sale_and_its_claims(site: Site) -> None:
    with site.wired.runtime.uow(read_only=True) as uow:
        policy = uow.session.scalar(select(PolicyRecord).where(PolicyRecord.number == "PDEMO0007"))
        claims = uow.session.scalars(select(ClaimRecord).where(ClaimRecord.policy_id == policy.id)).all()
        expected = {c.instance_id for c in claims if c.instance_id}
    assert expected  # the demo's death claim on PDEMO0007
    manager = _english(site, "claims.manager")
    assert set(_found(manager, q="pdemo0007")) == expected  # typed in lower case, with the claims in sight
    assert set(_found(manager, q=" PDEMO0007 ", process="claims")) == expected


def test_a_claim_number_a_customers_id_number_and_a_name_find_the_claim(site: Site) -> None:
    with site.wired.runtime.uow(read_only=True) as uow:
        claim = uow.session.scalar(select(ClaimRecord).where(ClaimRecord.instance_id.is_not(None))
                                   .order_by(ClaimRecord.id))
    manager = _english(site, "claims.manager")
    assert _found(manager, q=claim.number) == [claim.instance_id]
    _name, region, birth, sequence, _phone, _region = CUSTOMERS[0]  # Li Hua, holder of PDEMO0001
    by_id = set(_found(manager, q=id_number(region, birth, sequence)))
    by_name = set(_found(manager, q="李华"))
    assert by_id == by_name and by_id  # the same person's cases, found by the keyed hash of the number


def test_nobody_finds_a_case_they_may_not_open(site: Site) -> None:
    agent = _english(site, "agent")
    claims_cases = _found(_english(site, "claims.manager"), process="claims")
    assert claims_cases
    assert _found(agent, process="claims") == []  # an agent has no part in any claim
    for case_id in claims_cases[:3]:
        assert agent.get(f"/cases/{case_id}").status_code == 403


def test_the_search_narrows_by_status_and_pages(site: Site) -> None:
    auditor = _english(site, "auditor")
    with site.wired.runtime.uow(read_only=True) as uow:
        completed = set(uow.session.scalars(select(InstanceModel.id).where(InstanceModel.status == "completed")))
    assert set(_found(auditor, status="completed")) == completed
    page = auditor.get("/cases", query_string={"page": "99999999999999999999"})  # an absurd page is page 1
    assert page.status_code == 200


def test_hostile_search_text_is_refused_quietly(site: Site) -> None:
    manager = _english(site, "claims.manager")
    for text in ("%", "_", "'; DROP TABLE instances; --", "\\", "x" * 5000):
        response = manager.get("/cases", query_string={"q": text})
        assert response.status_code == 200
    assert _found(manager, q="%") == []  # a wildcard is a character, not "everything"
