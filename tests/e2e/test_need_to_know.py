"""Need to know (README "Who sees a case"): every relation a person can have to a case, against every way of
reading or acting on it — the case over the API, its history, the case page, and messages into it.

The case is a claim (tests/fixtures/bpmn_need_to_know: process key `claims`, so the default duty roles apply)
registered by `clerk`, whose check is offered to every claims clerk; then `clerk2` takes the check. Each row of
the matrices is one person: their relation, then what each endpoint answers them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from engine.identity.users import add_user, create_token
from engine.workflow import deployments
from engine.workflow.actors import OPERATOR
from insureflow import instance_folder, schema
from insureflow.bootstrap import build_app
from tests.conftest import fixture_files, fresh_database
from tests.e2e.conftest import Site
from webui import create_app

PASSWORD = "need-to-know-7"
ID_NUMBER = "110105198503141016"
USERS = {
    "clerk": ["claims_clerk"], "clerk2": ["claims_clerk"], "clerk3": ["claims_clerk"], "adjuster": ["adjuster"],
    "manager": ["claims_manager"], "siu": ["siu"], "agent": ["agent"], "finance": ["finance"],
    "auditor": ["auditor"], "admin": ["admin"], "compliance": ["compliance"],
}


@dataclass(frozen=True)
class Expect:
    """What one person gets: their relation (for the reader of a failure), whether they see the case, whether
    its personal data is in clear, and whether they may send it the starter's message."""

    relation: str
    sees: bool
    clear: bool = False
    note: bool = False


# The check is open in the claims clerks' pool: every clerk holds it; the registering clerk is also its starter.
WHILE_OFFERED = {
    "clerk": Expect("starter, performer, holder", True, clear=True, note=True),
    "clerk2": Expect("holder (the pool offers it the check)", True, clear=True),
    "clerk3": Expect("holder (the pool offers it the check)", True, clear=True),
    "adjuster": Expect("none", False),
    "manager": Expect("duty and manager", True),
    "siu": Expect("duty", True),
    "agent": Expect("none", False),
    "finance": Expect("none", False),
    "compliance": Expect("none (compliance's duty is sales)", False),
    "auditor": Expect("reader", True),
    "admin": Expect("reader and manager", True),
}
# clerk2 took the check: the pool no longer offers it, and the registering clerk is only its starter now.
AFTER_TAKEN = {
    **WHILE_OFFERED,
    "clerk": Expect("starter and performer", True, note=True),
    "clerk2": Expect("holder (took the check)", True, clear=True),
    "clerk3": Expect("none (the check was taken)", False),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """An instance with the case-file diagram and one user per relation (no demo data)."""
    folder = tmp_path_factory.mktemp(f"need-to-know-{request.param}")
    for url in fresh_database(request.param, folder):
        wired = build_app(instance_folder.create(folder / "instance", url))
        schema.upgrade(wired.db)
        rt = wired.runtime
        with rt.uow() as uow:
            for name, roles in USERS.items():
                add_user(uow.session, rt.settings, name, roles, PASSWORD, rt.clock())
            uow.commit()
        deployments.deploy(rt, fixture_files("bpmn_need_to_know"), OPERATOR)
        yield Site(create_app(wired, {"TESTING": True, "WTF_CSRF_ENABLED": False}), wired)
        wired.db.dispose()


class Person:
    """One user over the API (bearer token) and the web pages (signed-in session)."""

    def __init__(self, site: Site, name: str):
        rt = site.wired.runtime
        with rt.uow() as uow:
            token = create_token(uow.session, name, rt.clock())
            uow.commit()
        self.name, self.headers = name, {"Authorization": f"Bearer {token}"}
        self.api: FlaskClient = site.client()
        self.web: FlaskClient = site.client()
        signed = self.web.post("/login", data={"username": name, "password": PASSWORD})
        assert signed.status_code in (302, 303), signed.get_data(as_text=True)[:300]


@pytest.fixture(scope="module")
def people(site: Site) -> dict[str, Person]:
    return {name: Person(site, name) for name in USERS}


def _register(people: dict[str, Person]) -> dict[str, int]:
    """A claim registered by `clerk` (an agent may not start one), its check open in the clerks' pool."""
    clerk = people["clerk"]
    started = clerk.api.post("/api/processes/claims/instances", json={}, headers=clerk.headers)
    assert started.status_code == 201, started.get_data(as_text=True)
    body = started.get_json()
    (register,) = body["open_tasks"]
    assert register["assignee"] == "clerk"  # assignTo="starter": the registration is the starter's own
    done = clerk.api.post(f"/api/tasks/{register['id']}/complete", headers=clerk.headers,
                          json={"data": {"claimant_name": "Li Hua", "claimant_id_number": ID_NUMBER}})
    assert done.status_code == 200, done.get_data(as_text=True)
    (check,) = done.get_json()["open_tasks"]
    assert (check["task"], check["assignee"]) == ("check", None)
    return {"instance": body["id"], "check": check["id"]}


@pytest.fixture(scope="module")
def case(site: Site, people: dict[str, Person]) -> dict[str, int]:
    """The claim the reading matrices look at."""
    return _register(people)


@pytest.fixture(scope="module")
def messaged_case(site: Site, people: dict[str, Person]) -> dict[str, int]:
    """Another claim, for the messages (a note it takes is a step of its own)."""
    return _register(people)


def _read(person: Person, instance: int) -> tuple[int, str | None]:
    answer = person.api.get(f"/api/instances/{instance}", headers=person.headers)
    return answer.status_code, (answer.get_json()["data"]["claimant_id_number"] if answer.status_code == 200
                                else None)


def _history(person: Person, instance: int) -> tuple[int, str | None]:
    answer = person.api.get(f"/api/instances/{instance}/history?page_size=100", headers=person.headers)
    if answer.status_code != 200:
        return answer.status_code, None
    (registered,) = [e for e in answer.get_json()["items"]
                     if e["type"] == "task_completed" and e["task"] == "register"]
    return 200, registered["payload"]["data"]["claimant_id_number"]


def _page(person: Person, instance: int) -> tuple[int, bool]:
    answer = person.web.get(f"/cases/{instance}")
    return answer.status_code, ID_NUMBER in answer.get_data(as_text=True)


def _check_row(person: Person, instance: int, expect: Expect) -> None:
    shown = ID_NUMBER if expect.clear else "••••1016"
    if expect.sees:
        assert _read(person, instance) == (200, shown), expect.relation
        assert _history(person, instance) == (200, shown), expect.relation
        assert _page(person, instance) == (200, expect.clear), expect.relation
    else:
        assert _read(person, instance)[0] == 403, expect.relation
        assert _history(person, instance)[0] == 403, expect.relation
        assert _page(person, instance)[0] == 403, expect.relation


@pytest.mark.parametrize("name", list(WHILE_OFFERED))
def test_who_sees_the_case_while_the_pool_offers_its_check(
        people: dict[str, Person], case: dict[str, int], name: str) -> None:
    _check_row(people[name], case["instance"], WHILE_OFFERED[name])


@pytest.mark.parametrize("name", list(WHILE_OFFERED))
def test_who_may_send_the_starters_message_and_nobody_the_engines(
        people: dict[str, Person], messaged_case: dict[str, int], name: str) -> None:
    case = messaged_case
    person, expect = people[name], WHILE_OFFERED[name]
    note = person.api.post(f"/api/instances/{case['instance']}/messages/customer_note", headers=person.headers,
                           json={"text": f"from {name}"})
    assert note.status_code == (200 if expect.note else 403), (expect.relation, note.get_data(as_text=True))
    bank = person.api.post(f"/api/instances/{case['instance']}/messages/bank_notice", headers=person.headers,
                           json={"paid": True})
    assert bank.status_code == 403, (expect.relation, bank.get_data(as_text=True))
    if expect.sees:  # a refusal names the rule, not just "forbidden"
        assert "engine only" in bank.get_json()["error"]["message"] or "not act" in bank.get_json()["error"][
            "message"]


@pytest.mark.parametrize("name", list(AFTER_TAKEN))
def test_who_sees_the_case_once_a_clerk_took_its_check(
        people: dict[str, Person], case: dict[str, int], name: str) -> None:
    taker = people["clerk2"]
    claimed = taker.api.post(f"/api/tasks/{case['check']}/claim", headers=taker.headers)
    assert claimed.status_code in (200, 409), claimed.get_data(as_text=True)  # the first row of the test takes it
    _check_row(people[name], case["instance"], AFTER_TAKEN[name])
