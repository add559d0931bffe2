"""The administrator's pages through the Flask test client: the user list with search and role filter, new
users, editing roles, activation, the unmask permission, passwords and tokens, the administration log; field
errors in the user's language; 403 for every other role, sign-in for visitors, CSRF, the guard rails."""

from __future__ import annotations

import itertools
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.workflow.actors import Actor, actor_for
from engine.workflow.models import UserModel
from engine.workflow.settings import DEFAULT_ROLES
from services.demo import demo_password
from tests.e2e.api_support import shared_site
from tests.e2e.conftest import Site
from webui import create_app

__all__ = ["shared_site"]  # the fixture this module's `site` stands on

GOOD_PASSWORD = "correct horse battery"
OTHER_USERS = [role.replace("_", ".") for role in DEFAULT_ROLES if role != "admin"] + ["surveyor.zhang"]


@pytest.fixture
def site(shared_site: Site) -> Site:
    """One demo site per module and database; each test works on users of its own."""
    return shared_site


def _admin(site: Site, lang: str = "en") -> FlaskClient:
    client = site.signed_in("admin")
    client.post("/language", data={"lang": lang})
    return client


def _page(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def _field_error(page: str, field: str) -> str:
    found = re.search(rf'id="err-{field}">([^<]*)<', page)
    assert found is not None, f"no error shown for {field}"
    return found[1]


def _create(client: FlaskClient, username: str, roles: list[str], **extra: str) -> TestResponse:
    data = {"username": username, "display_name": extra.pop("display_name", ""), "roles": roles,
            "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD, **extra}
    return client.post("/admin/users/new", data=data)


def _user(site: Site, username: str) -> Actor:
    """The stored user as the engine's Actor (raises when deactivated)."""
    with site.wired.runtime.uow(read_only=True) as uow:
        return actor_for(uow, username)


_addresses = itertools.count(1)


def _sign_in_fails(site: Site, username: str, password: str) -> bool:
    """Whether signing in is refused; each try from an address of its own, so the throttle never answers."""
    n = next(_addresses)
    address = f"10.77.{n // 250}.{n % 250 + 1}"
    response = site.client().post("/login", data={"username": username, "password": password},
                                  environ_base={"REMOTE_ADDR": address})
    return response.status_code == 401


def _exists(site: Site, username: str) -> bool:
    with site.wired.runtime.uow(read_only=True) as uow:
        return uow.session.scalar(select(UserModel.id).where(UserModel.username == username)) is not None


def _edit_data(display_name: str, roles: list[str], active: bool = True, may_unmask: bool = False) -> dict:
    data: dict = {"display_name": display_name, "roles": roles}
    if active:
        data["active"] = "y"
    if may_unmask:
        data["may_unmask"] = "y"
    return data


def test_the_admin_sees_every_user_with_roles_and_states(site: Site) -> None:
    page = _page(_admin(site).get("/admin/"))
    assert 'id="users-table"' in page
    for name in ("admin", "claims.clerk", "surveyor.zhang"):
        assert f'data-username="{name}"' in page
    assert "Zhang Wei 张伟" in page and 'data-role="claims_clerk">Claims clerk<' in page


def test_users_are_found_by_name_and_filtered_by_role(site: Site) -> None:
    client = _admin(site)
    found = _page(client.get("/admin/?q=ZHANG"))
    assert re.findall(r'data-username="([^"]+)"', found) == ["surveyor.zhang"]
    surveyors = re.findall(r'data-username="([^"]+)"', _page(client.get("/admin/?role=surveyor")))
    assert "surveyor" in surveyors and "surveyor.zhang" in surveyors and "claims.clerk" not in surveyors
    assert all(name.startswith("surveyor") for name in surveyors)
    nobody = _page(client.get("/admin/?q=no-such-person"))
    assert 'id="users-empty"' in nobody and "No user matches this search." in nobody
    assert "claims.clerk" in _page(client.get("/admin/?role=wizard"))  # an unknown role filters nothing


def test_the_admin_creates_a_user_who_can_then_sign_in(site: Site) -> None:
    client = _admin(site)
    response = _create(client, "clerk.new", ["claims_clerk", "siu"], display_name="New Clerk")
    assert response.status_code == 302 and response.location == "/admin/users/clerk.new"
    page = _page(client.get(response.location))
    assert "User clerk.new created." in page and "New Clerk" in page
    assert "Created with the roles: Claims clerk, SIU investigator" in page
    assert _user(site, "clerk.new").roles == {"claims_clerk", "siu"}
    inbox = site.signed_in("clerk.new", GOOD_PASSWORD).get("/")
    assert inbox.status_code == 200 and 'id="inbox-tabs"' in _page(inbox)


@pytest.mark.parametrize(("changes", "field", "message", "status"), [
    ({"username": ""}, "username", "This field is required.", 422),
    ({"username": "two words"}, "username", "A user name is 1 to 80 letters, digits, “.”, “-” or “_”.", 422),
    ({"username": "agent"}, "username", "This user name is taken.", 409),
    ({"confirm": "something else entirely"}, "confirm", "The two passwords differ.", 422),
    ({"password": "short", "confirm": "short"}, "password", "The password must have at least 10 characters.", 422),
    ({"password": "Form.Case1", "confirm": "Form.Case1"}, "password", "The password must not be the user name.", 422),
    ({"roles": ["claims_clerk", "wizard"]}, "roles", "Choose only roles from the list.", 422),
    ({"display_name": "x" * 201}, "display_name", "Field cannot be longer than 200 characters.", 422),
])
def test_every_new_user_error_is_shown_beside_its_field_and_the_entries_stay(
        site: Site, changes: dict, field: str, message: str, status: int) -> None:
    client = _admin(site)
    data = {"username": "form.case1", "display_name": "Form Case", "roles": ["claims_clerk", "finance"],
            "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD, **changes}
    response = client.post("/admin/users/new", data=data)
    page = _page(response)
    assert response.status_code == status
    assert _field_error(page, field) == message
    assert "Please correct the marked fields." in page
    if "username" not in changes:
        assert 'name="username" required type="text" value="form.case1"' in page
    if "display_name" not in changes:
        assert 'value="Form Case"' in page
    checked = re.findall(r'<input checked class="form-check-input[^"]*" id="roles-\d+" name="roles" type="checkbox" '
                         r'value="([^"]+)"', page)
    assert checked == [r for r in sorted(data["roles"]) if r != "wizard"]
    assert GOOD_PASSWORD not in page  # passwords are never sent back
    assert not _exists(site, "form.case1")


def test_field_errors_are_in_chinese_in_a_chinese_session(site: Site) -> None:
    client = _admin(site, "zh")
    page = _page(client.post("/admin/users/new", data={"username": "", "roles": ["agent"], "password": "short",
                                                       "confirm": "short"}))
    assert _field_error(page, "username") == "该字段是必填字段。"
    page = _page(client.post("/admin/users/new", data={"username": "zh.case", "roles": ["agent"],
                                                       "password": "short", "confirm": "short"}))
    assert _field_error(page, "password") == "密码至少需要 10 个字符。"
    assert "请更正标出的字段。" in page


def test_the_admin_edits_a_user_and_the_log_says_what_changed(site: Site) -> None:
    client = _admin(site)
    assert _create(client, "edit.me", ["agent"]).status_code == 302
    response = client.post("/admin/users/edit.me", data=_edit_data("Edith Me", ["agent", "compliance"],
                                                                   may_unmask=True))
    assert response.status_code == 302 and response.location == "/admin/users/edit.me"
    page = _page(client.get(response.location))
    assert "The changes to edit.me are saved." in page
    actor = _user(site, "edit.me")
    assert actor.roles == {"agent", "compliance"} and actor.may_unmask
    for line in ("Display name set to “Edith Me”", "Roles added: Compliance officer",
                 "May now reveal masked personal data", "Created with the roles: Agent"):
        assert line in page
    assert page.index("Roles added: Compliance officer") < page.index("Created with the roles: Agent")  # newest first
    client.post("/admin/users/edit.me", data=_edit_data("Edith Me", ["compliance"]))
    page = _page(client.get("/admin/users/edit.me"))
    assert "Roles removed: Agent" in page and "May no longer reveal masked personal data" in page
    assert 'value="Edith Me"' in page


def test_a_bad_edit_keeps_the_entries_and_changes_nothing(site: Site) -> None:
    client = _admin(site)
    assert _create(client, "edit.bad", ["agent"], display_name="Before").status_code == 302
    response = client.post("/admin/users/edit.bad", data=_edit_data("y" * 201, ["agent", "underwriter", "wizard"]))
    page = _page(response)
    assert response.status_code == 422
    assert _field_error(page, "display_name") == "Field cannot be longer than 200 characters."
    assert _field_error(page, "roles") == "Choose only roles from the list."
    assert 'value="' + "y" * 201 + '"' in page and re.search(r'<input checked[^>]*value="underwriter"', page)
    assert _user(site, "edit.bad").roles == {"agent"}


def test_a_deactivated_user_is_signed_out_cannot_sign_in_and_their_token_stops(site: Site) -> None:
    client = _admin(site)
    assert _create(client, "leaver", ["claims_clerk"]).status_code == 302
    session = site.signed_in("leaver", GOOD_PASSWORD)
    token = site.token("leaver")
    assert session.get("/").status_code == 200 and site.client().get("/api/tasks", headers=token).status_code == 200
    assert client.post("/admin/users/leaver", data=_edit_data("", ["claims_clerk"], active=False)).status_code == 302
    assert "Deactivated" in _page(client.get("/admin/users/leaver"))
    assert session.get("/").status_code == 302  # the open session no longer counts
    assert _sign_in_fails(site, "leaver", GOOD_PASSWORD)
    assert site.client().get("/api/tasks", headers=token).status_code == 401
    client.post("/admin/users/leaver", data=_edit_data("", ["claims_clerk"], active=True))
    assert site.client().get("/api/tasks", headers=token).status_code == 200


def test_a_new_password_is_set_after_its_checks(site: Site) -> None:
    client = _admin(site)
    assert _create(client, "pw.user", ["finance"]).status_code == 302
    mismatch = client.post("/admin/users/pw.user/password", data={"password": "new password 1", "confirm": "other"})
    assert mismatch.status_code == 422 and _field_error(_page(mismatch), "confirm") == "The two passwords differ."
    short = client.post("/admin/users/pw.user/password", data={"password": "tiny", "confirm": "tiny"})
    assert short.status_code == 422
    assert _field_error(_page(short), "password") == "The password must have at least 10 characters."
    assert re.search(r'id="display_name"[^>]*value="pw.user"', _page(short))  # the edit form: stored values
    new = {"password": "new password 1", "confirm": "new password 1"}
    done = client.post("/admin/users/pw.user/password", data=new)
    assert done.status_code == 302
    page = _page(client.get(done.location))
    assert "The new password of pw.user is set." in page and "Password set" in page
    assert _sign_in_fails(site, "pw.user", GOOD_PASSWORD)
    assert site.signed_in("pw.user", "new password 1").get("/").status_code == 200


def test_tokens_are_listed_and_revoked_in_the_page(site: Site) -> None:
    client = _admin(site)
    assert _create(client, "bot.user", ["analyst"]).status_code == 302
    headers = site.token("bot.user")
    page = _page(client.get("/admin/users/bot.user"))
    token_id = int(re.search(r'data-token-id="(\d+)"', page)[1])
    assert headers["Authorization"].removeprefix("Bearer ") not in page
    response = client.post(f"/admin/users/bot.user/tokens/{token_id}/revoke")
    assert response.status_code == 302
    page = _page(client.get("/admin/users/bot.user"))
    assert "The API token is revoked." in page and f"API token {token_id} revoked" in page and "Revoked" in page
    assert site.client().get("/api/tasks", headers=headers).status_code == 401
    client.post(f"/admin/users/bot.user/tokens/{token_id}/revoke")
    assert "This token was already revoked." in _page(client.get("/admin/users/bot.user"))
    assert client.post(f"/admin/users/agent/tokens/{token_id}/revoke").status_code == 404  # not agent's token


def test_an_admin_cannot_lock_themself_out_through_the_page(site: Site) -> None:
    client = _admin(site)
    roles = ["admin", "auditor"]
    response = client.post("/admin/users/admin", data=_edit_data("Chief", roles, active=False))
    page = _page(response)
    assert response.status_code == 409 and "You cannot deactivate your own account." in page
    assert 'value="Chief"' in page and not re.search(r'<input checked[^>]*id="active"', page)  # entries kept
    response = client.post("/admin/users/admin", data=_edit_data("Chief", ["auditor"]))
    assert response.status_code == 409 and "You cannot remove your own Administrator role." in _page(response)
    me = _user(site, "admin")
    assert me.roles == {"admin"} and "Chief" not in _page(client.get("/admin/users/admin"))
    # another administrator may be demoted: the rule keeps one active admin, not a particular one
    assert _create(client, "deputy", ["admin"]).status_code == 302
    assert client.post("/admin/users/deputy", data=_edit_data("", ["auditor"])).status_code == 302
    assert _user(site, "deputy").roles == {"auditor"}


def test_an_unknown_user_is_not_found(site: Site) -> None:
    client = _admin(site)
    assert client.get("/admin/users/nobody").status_code == 404
    assert client.post("/admin/users/nobody", data=_edit_data("", ["agent"])).status_code == 404


@pytest.mark.parametrize("username", OTHER_USERS)
def test_every_other_role_is_refused_everywhere(site: Site, username: str) -> None:
    password = demo_password("surveyor" if username.startswith("surveyor") else username.replace(".", "_"))
    client = site.signed_in(username, password)
    client.post("/language", data={"lang": "en"})
    assert "/admin/" not in _page(client.get("/"))  # no menu link
    for path in ("/admin/", "/admin/users/new", "/admin/users/agent"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Not allowed" in _page(response) and "navbar" in _page(response)
    posts = {"/admin/users/new": {"username": "sneaky", "roles": ["admin"], "password": GOOD_PASSWORD,
                                  "confirm": GOOD_PASSWORD},
             f"/admin/users/{username}": _edit_data("", ["admin"]),
             f"/admin/users/{username}/password": {"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD},
             "/admin/users/agent/tokens/1/revoke": {}}
    for path, data in posts.items():
        assert client.post(path, data=data).status_code == 403, path
    assert "admin" not in _user(site, username).roles
    assert _sign_in_fails(site, username, GOOD_PASSWORD)  # the password was not changed either


def test_a_signed_out_visitor_is_sent_to_sign_in(site: Site) -> None:
    client = site.client()
    for path in ("/admin/", "/admin/users/new", "/admin/users/agent"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/login?next="), path
    response = client.post("/admin/users/new", data={"username": "anon", "roles": ["admin"]})
    assert response.status_code == 302 and response.location.startswith("/login")


def test_the_forms_need_the_csrf_token_when_served(site: Site) -> None:
    app = create_app(site.wired, {"TESTING": True})  # CSRF on, as served
    client = app.test_client()
    form = _page(client.get("/login"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)[1]
    assert client.post("/login", data={"username": "admin", "password": demo_password("admin"),
                                       "csrf_token": token}).status_code == 302
    data = {"username": "csrf.case", "roles": ["agent"], "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD}
    assert client.post("/admin/users/new", data=data).status_code == 400
    assert client.post("/admin/users/agent", data=_edit_data("Forged", [])).status_code == 400
    assert 'id="users-empty"' in _page(client.get("/admin/?q=csrf.case"))
    page = _page(client.get("/admin/users/new"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    response = client.post("/admin/users/new", data={**data, "csrf_token": token})
    assert response.status_code == 302 and response.location == "/admin/users/csrf.case"
