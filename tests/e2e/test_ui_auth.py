"""Sign-in, sign-out, throttled failures, safe redirects, CSRF, the language switch and the error pages."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask.testing import FlaskClient

from tests.e2e.api_support import shared_site
from tests.e2e.conftest import Site
from webui import create_app

__all__ = ["shared_site"]  # the fixture this module's `site` stands on


@pytest.fixture
def site(shared_site: Site) -> Site:
    """One demo site for the whole module: its tests change nothing that another test here looks at."""
    return shared_site


def _login(client: FlaskClient, username: str, password: str, addr: str = "127.0.0.1", **extra: str):
    return client.post("/login", data={"username": username, "password": password, **extra},
                       environ_base={"REMOTE_ADDR": addr})


def _english(client: FlaskClient) -> FlaskClient:
    client.post("/language", data={"lang": "en"})
    return client


def test_sign_in_with_the_demo_password_opens_the_inbox(site: Site) -> None:
    client = _english(site.client())
    response = _login(client, "adjuster", "adjuster-demo")
    assert response.status_code == 302 and response.location == "/"
    page = client.get("/").get_data(as_text=True)
    assert "adjuster" in page and "Sign out" in page and "Assess amount" in page


def test_a_wrong_password_says_so_and_signs_nobody_in(site: Site) -> None:
    client = _english(site.client())
    response = _login(client, "adjuster", "wrong", addr="10.1.0.1")
    assert response.status_code == 401
    assert "Wrong user name or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_an_unknown_user_gets_the_same_message_as_a_wrong_password(site: Site) -> None:
    client = _english(site.client())
    response = _login(client, "nobody", "whatever", addr="10.1.0.2")
    assert response.status_code == 401 and "Wrong user name or password." in response.get_data(as_text=True)


def test_pages_need_a_sign_in_and_come_back_after_it(site: Site) -> None:
    client = site.client()
    response = client.get("/cases/1")
    assert response.status_code == 302 and response.location.startswith("/login?next=")
    response = _login(client, "agent", "agent-demo", next="/cases/1")
    assert response.location == "/cases/1"


def test_next_never_leads_off_the_site(site: Site) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = _login(site.client(), "agent", "agent-demo", next=target)
        assert response.status_code == 302 and response.location == "/", target


def test_sign_out_ends_the_session(site: Site) -> None:
    client = site.signed_in("agent")
    response = client.post("/logout")
    assert response.status_code == 302 and response.location == "/login"
    assert client.get("/").status_code == 302


def _earlier(hours: int) -> datetime:
    """A moment some hours before now, a different one per test: the site is shared, and failures recorded
    in one test's window must not slow down another test's (nor, being in the past, any later test)."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)


def test_failures_slow_an_account_down_and_the_right_password_works_after_the_wait(site: Site) -> None:
    with time_machine.travel(_earlier(10), tick=False) as clock:
        client = _english(site.client())  # its session cookie made at the travelled time
        for attempt in range(3):  # from different addresses: the account counts
            assert _login(client, "finance", "wrong", addr=f"10.0.0.{attempt}").status_code == 401
        early = _login(client, "finance", "finance-demo", addr="10.0.1.1")
        assert early.status_code == 429  # a one-second wait after the third failure
        assert "Too many failed sign-ins. Try again in 2 seconds." in early.get_data(as_text=True)
        clock.shift(timedelta(seconds=1.5))
        assert _login(client, "finance", "finance-demo", addr="10.0.1.1").status_code == 302
        for _ in range(6):  # the count starts again after a success; six more failures: 8 seconds
            _login(site.client(), "finance", "wrong", addr="10.0.1.2")
            clock.shift(timedelta(seconds=10))
        clock.shift(timedelta(seconds=-10 + 7))
        assert _login(site.client(), "finance", "finance-demo").status_code == 429
        clock.shift(timedelta(seconds=2))
        assert _login(site.client(), "finance", "finance-demo").status_code == 302


def test_one_persons_failures_never_lock_out_a_colleague_behind_the_same_address(site: Site) -> None:
    with time_machine.travel(_earlier(9), tick=False):
        for _ in range(10):  # behind the office's one address
            assert _login(site.client(), "compliance", "wrong", addr="10.9.9.9").status_code in (401, 429)
        assert _login(site.client(), "auditor", "auditor-demo", addr="10.9.9.9").status_code == 302


def test_an_address_is_stopped_only_after_many_failures(site: Site) -> None:
    app = create_app(site.wired, {"TESTING": True, "WTF_CSRF_ENABLED": False, "LOGIN_ADDRESS_FAILURES": 8})
    with time_machine.travel(_earlier(8), tick=False):
        for number in range(8):  # eight different names, none of them slowed down on its own
            assert _login(app.test_client(), f"guess{number}", "wrong", addr="10.6.6.6").status_code == 401
        assert _login(app.test_client(), "surveyor", "surveyor-demo", addr="10.6.6.6").status_code == 429
        assert _login(app.test_client(), "surveyor", "surveyor-demo", addr="10.6.6.5").status_code == 302


def test_repeated_failures_are_logged_for_the_administrators(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    with time_machine.travel(_earlier(7), tick=False) as clock, caplog.at_level(logging.WARNING, "insureflow.security"):
        for _ in range(5):
            _login(site.client(), "claims.manager", "wrong", addr="10.5.5.5")
            clock.shift(timedelta(minutes=1))
    (alert,) = [r.getMessage() for r in caplog.records if r.name == "insureflow.security"]
    assert alert.startswith("5 failed sign-ins for account 'claims.manager' in 15 minutes")


def test_failures_count_across_every_web_worker_on_the_database(site: Site) -> None:
    from insureflow.bootstrap import build_app

    second = build_app(site.wired.config)  # another gunicorn worker: its own process state, the same database
    try:
        other = create_app(second, {"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
        with time_machine.travel(_earlier(6), tick=False):
            for client in (site.client(), other, site.client()):
                assert _login(client, "underwriter", "wrong", addr="10.7.7.7").status_code == 401
            assert _login(other, "underwriter", "underwriter-demo", addr="10.7.7.8").status_code == 429
            assert _login(site.client(), "underwriter", "underwriter-demo", addr="10.7.7.9").status_code == 429
    finally:
        second.db.dispose()


def test_a_post_without_the_csrf_token_is_refused(site: Site) -> None:
    app = create_app(site.wired, {"TESTING": True})  # CSRF on, as served
    client = app.test_client()
    _english(client)  # refused too, but harmless: the language is not changed without a token
    response = client.post("/login", data={"username": "agent", "password": "agent-demo"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # not signed in
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert token is not None
    response = client.post("/login", data={"username": "agent", "password": "agent-demo", "csrf_token": token[1]})
    assert response.status_code == 302


def test_the_language_switch_shows_chinese_labels(site: Site) -> None:
    client = site.signed_in("claims.clerk")
    client.post("/language", data={"lang": "en", "next": "/"})
    english = client.get("/").get_data(as_text=True)
    assert "Inbox" in english and "Open for my roles" in english and "Request missing documents" in english
    response = client.post("/language", data={"lang": "zh", "next": "/"})
    assert response.status_code == 302 and response.location == "/"
    chinese = client.get("/").get_data(as_text=True)
    assert "待办" in chinese and "我的角色可领取" in chinese and "补充理赔材料" in chinese
    assert "Open for my roles" not in chinese


def test_the_language_survives_signing_out(site: Site) -> None:
    client = site.signed_in("agent")
    client.post("/language", data={"lang": "zh"})
    client.post("/logout")
    assert "用户名" in client.get("/login").get_data(as_text=True)


def test_an_unknown_language_is_refused(site: Site) -> None:
    assert site.client().post("/language", data={"lang": "fr"}).status_code == 400


def test_an_unknown_page_is_a_404_in_the_layout(site: Site) -> None:
    client = _english(site.signed_in("agent"))
    response = client.get("/no/such/page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "Not found" in page and "navbar" in page and "Sign out" in page
