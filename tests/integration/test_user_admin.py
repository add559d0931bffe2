"""Administering users through the engine (SQLite and PostgreSQL): roles, activation, passwords, the unmask
permission and tokens; only administrators may, the last active administrator is kept, every change is logged."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from engine.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from engine.identity import user_admin, user_directory
from engine.identity.users import check_password, create_token
from engine.workflow.actors import OPERATOR, Actor, actor_for, actor_for_token
from engine.workflow.models import UserModel
from tests.conftest import World

GOOD_PASSWORD = "correct horse battery"


def _do(world: World, change: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one administration function in its own committed unit of work (settings and now filled in)."""
    rt = world.rt
    with rt.uow() as uow:
        result = change(uow.session, rt.settings, *args, now=rt.clock(), **kwargs)
        uow.commit()
    return result


def _read(world: World, query: Callable[..., Any], *args: Any) -> Any:
    with world.rt.uow(read_only=True) as uow:
        return query(uow.session, *args)


def _admin(world: World, name: str = "root") -> Actor:
    _do(world, user_admin.create_user, OPERATOR, name, ["admin"], GOOD_PASSWORD)
    return world.actor(name)


def _log(world: World, username: str) -> list[dict[str, Any]]:
    return [entry.change for entry in _read(world, user_directory.user_log, OPERATOR, username)]


def test_an_admin_sets_roles_and_the_log_says_what_was_added_and_removed(world: World) -> None:
    root = _admin(world)
    change = _do(world, user_admin.set_roles, root, "mgr", ["claims_manager", "finance", "siu"])
    assert change == {"roles": {"added": ["finance", "siu"], "removed": ["adjuster"]}}
    assert world.actor("mgr").roles == {"claims_manager", "finance", "siu"}
    entries = _read(world, user_directory.user_log, OPERATOR, "mgr")
    assert [(e.actor, e.username, e.change) for e in entries] == [("root", "mgr", change)]
    assert entries[0].occurred_at == world.clock.now


def test_setting_the_roles_a_user_already_has_changes_and_logs_nothing(world: World) -> None:
    root = _admin(world)
    assert _do(world, user_admin.set_roles, root, "clerk", ["claims_clerk"]) == {}
    assert _log(world, "clerk") == []


def test_an_unknown_role_is_refused_and_the_roles_stay(world: World) -> None:
    root = _admin(world)
    with pytest.raises(InvalidInputError, match=r"unknown role.*wizard") as caught:
        _do(world, user_admin.set_roles, root, "clerk", ["claims_clerk", "wizard"])
    assert caught.value.details["rule"] == "unknown_role"
    assert world.actor("clerk").roles == {"claims_clerk"}
    assert _log(world, "clerk") == []


def test_a_non_admin_may_change_nothing_and_see_nothing(world: World) -> None:
    _admin(world)
    boss = world.actor("boss")
    changes: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
        (user_admin.set_roles, (["admin"],)), (user_admin.set_display_name, ("Boss",)),
        (user_admin.set_active, (False,)), (user_admin.set_may_unmask, (True,)),
        (user_admin.set_password, (GOOD_PASSWORD,)), (user_admin.revoke_all_tokens, ()),
    ]
    for change, args in changes:
        with pytest.raises(ForbiddenError, match=r"boss may not .*admin"):
            _do(world, change, boss, "clerk", *args)
    with pytest.raises(ForbiddenError):
        _do(world, user_admin.create_user, boss, "sneaky", ["admin"], GOOD_PASSWORD)
    for query in (user_directory.user_details, user_directory.list_tokens, user_directory.user_log):
        with pytest.raises(ForbiddenError):
            _read(world, query, boss, "clerk")
    with pytest.raises(ForbiddenError):
        _read(world, user_directory.search_users, boss)
    assert world.actor("clerk").roles == {"claims_clerk"} and _log(world, "clerk") == []
    assert world.actor("boss").roles == {"claims_manager"}


def test_changing_an_unknown_user_is_not_found(world: World) -> None:
    root = _admin(world)
    with pytest.raises(NotFoundError, match="nobody"):
        _do(world, user_admin.set_active, root, "nobody", False)


def test_an_admin_cannot_deactivate_themself_or_drop_their_own_admin_role(world: World) -> None:
    root = _admin(world)
    _admin(world, "second")  # not the last admin: the refusal is about acting on oneself
    with pytest.raises(ConflictError, match="your own account") as caught:
        _do(world, user_admin.set_active, root, "root", False)
    assert caught.value.details["rule"] == "own_account"
    with pytest.raises(ConflictError, match="your own admin role"):
        _do(world, user_admin.set_roles, root, "root", ["auditor"])
    assert _do(world, user_admin.set_roles, root, "root", ["admin", "auditor"])["roles"]["added"] == ["auditor"]
    assert world.actor("root").roles == {"admin", "auditor"}


def test_the_last_active_admin_never_loses_the_role_or_the_account(world: World) -> None:
    _admin(world)
    for change, args in ((user_admin.set_active, (False,)), (user_admin.set_roles, (["auditor"],))):
        with pytest.raises(ConflictError, match="root is the last active administrator") as caught:
            _do(world, change, OPERATOR, "root", *args)  # not even the operator
        assert caught.value.details["rule"] == "last_admin"
    assert world.actor("root").roles == {"admin"}
    assert _log(world, "root") == [{"created": {"display_name": "root", "password": "set", "roles": ["admin"]}}]


def test_with_two_admins_one_may_go_and_then_the_other_is_the_last(world: World) -> None:
    root = _admin(world)
    _admin(world, "second")
    assert _do(world, user_admin.set_active, root, "second", False) == {"active": False}
    with pytest.raises(ConflictError, match="last active administrator"):
        _do(world, user_admin.set_active, OPERATOR, "root", False)
    # a deactivated admin does not count: reactivated, they are an admin again and root may go
    _do(world, user_admin.set_active, OPERATOR, "second", True)
    assert _do(world, user_admin.set_roles, OPERATOR, "root", ["auditor"]) == {
        "roles": {"added": ["auditor"], "removed": ["admin"]}}


def test_two_admins_deactivated_at_the_same_moment_leave_one_active(world: World) -> None:
    _admin(world, "a1")
    _admin(world, "a2")
    rt, outcome = world.rt, {}

    def second() -> None:
        try:
            _do(world, user_admin.set_active, OPERATOR, "a2", False)
            outcome["second"] = "deactivated"
        except ConflictError as exc:
            outcome["second"] = exc.details["rule"]

    with rt.uow() as first:  # each sees the other admin still active until the first commits
        user_admin.set_active(first.session, rt.settings, OPERATOR, "a1", False, rt.clock())
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the second change did not wait for the first"
        first.commit()
    thread.join(timeout=30)
    assert outcome == {"second": "last_admin"}
    assert world.actor("a2").roles == {"admin"}  # still active: actor_for refuses inactive users


def test_a_refused_edit_changes_nothing_at_all(world: World) -> None:
    root = _admin(world)
    with pytest.raises(ConflictError, match="last active administrator"):
        _do(world, user_admin.update_user, OPERATOR, "root", display_name="Root Admin", roles=["admin", "siu"],
            active=False, may_unmask=True)
    user = _read(world, user_directory.user_details, root, "root").user
    assert (user.display_name, user.roles, user.active, user.may_unmask) == ("root", ["admin"], True, False)
    assert len(_log(world, "root")) == 1  # only its creation


def test_an_edit_applies_every_field_and_logs_each_change(world: World) -> None:
    root = _admin(world)
    changes = _do(world, user_admin.update_user, root, "adj", display_name="  Adam   Adjuster ",
                  roles=["adjuster", "surveyor"], active=False, may_unmask=True)
    assert changes == {"display_name": "Adam Adjuster", "roles": {"added": ["surveyor"], "removed": []},
                       "active": False, "may_unmask": True}
    assert list(reversed(_log(world, "adj"))) == [
        {"display_name": "Adam Adjuster"}, {"roles": {"added": ["surveyor"], "removed": []}}, {"active": False},
        {"may_unmask": True}]
    user = _read(world, user_directory.user_details, root, "adj").user
    assert (user.display_name, user.roles, user.active, user.may_unmask) == (
        "Adam Adjuster", ["adjuster", "surveyor"], False, True)


def test_a_deactivated_user_can_neither_sign_in_nor_use_a_token_until_reactivated(world: World) -> None:
    root = _admin(world)
    _do(world, user_admin.set_password, root, "clerk", GOOD_PASSWORD)
    rt = world.rt
    with rt.uow() as uow:
        token = create_token(uow.session, "clerk", rt.clock())
        uow.commit()
    _do(world, user_admin.set_active, root, "clerk", False)
    with rt.uow(read_only=True) as uow:
        with pytest.raises(ForbiddenError, match="deactivated"):
            actor_for(uow, "clerk")
        with pytest.raises(ForbiddenError, match="deactivated"):
            actor_for_token(uow, token)
    _do(world, user_admin.set_active, root, "clerk", True)
    with rt.uow(read_only=True) as uow:
        assert actor_for_token(uow, token).username == "clerk"
        assert actor_for(uow, "clerk").roles == {"claims_clerk"}


def test_a_new_password_replaces_the_old_and_the_log_keeps_neither(world: World) -> None:
    root = _admin(world)
    assert _do(world, user_admin.set_password, root, "adj", GOOD_PASSWORD) == {"password": "reset"}
    _do(world, user_admin.set_password, root, "adj", "another long passphrase")
    with world.rt.uow(read_only=True) as uow:
        stored = uow.session.scalar(select(UserModel.password_hash).where(UserModel.username == "adj"))
        rows = [row.change for row in uow.session.execute(text("SELECT change FROM user_changes"))]
    assert check_password(stored, "another long passphrase") and not check_password(stored, GOOD_PASSWORD)
    assert all("passphrase" not in row and "horse" not in row and (stored or "x") not in row for row in rows)
    assert _log(world, "adj") == [{"password": "reset"}, {"password": "reset"}]


@pytest.mark.parametrize(("password", "rule"), [
    ("short1234", "password_too_short"), ("x" * 201, "password_too_long"), ("Analyst.Smith", "password_is_username"),
])
def test_a_weak_password_is_refused_with_the_reason(world: World, password: str, rule: str) -> None:
    root = _admin(world)
    _do(world, user_admin.create_user, root, "analyst.smith", ["analyst"], None)
    with pytest.raises(InvalidInputError) as caught:
        _do(world, user_admin.set_password, root, "analyst.smith", password)
    assert caught.value.details["rule"] == rule and set(caught.value.details["fields"]) == {"password"}
    with pytest.raises(InvalidInputError):
        _do(world, user_admin.create_user, root, "analyst.smith2", ["analyst"], password.replace("Smith", "Smith2"))
    with world.rt.uow(read_only=True) as uow:
        assert uow.session.scalar(select(UserModel.password_hash).where(UserModel.username == "analyst.smith")) is None
        assert uow.session.scalar(select(UserModel).where(UserModel.username == "analyst.smith2")) is None


def test_the_unmask_permission_is_granted_and_withdrawn_apart_from_roles(world: World) -> None:
    root = _admin(world)
    assert not world.actor("auditor").may_unmask
    assert _do(world, user_admin.set_may_unmask, root, "auditor", True) == {"may_unmask": True}
    assert world.actor("auditor").may_unmask and world.actor("auditor").roles == {"auditor"}
    assert _do(world, user_admin.set_may_unmask, root, "auditor", True) == {}  # already granted: no log entry
    _do(world, user_admin.set_may_unmask, root, "auditor", False)
    assert not world.actor("auditor").may_unmask
    assert _log(world, "auditor") == [{"may_unmask": False}, {"may_unmask": True}]


def test_tokens_are_listed_without_the_token_and_a_revoked_one_stops_working(world: World) -> None:
    root = _admin(world)
    rt = world.rt
    with rt.uow() as uow:
        first = create_token(uow.session, "adj", rt.clock())
        second = create_token(uow.session, "adj", rt.clock())
        uow.commit()
    tokens = _read(world, user_directory.list_tokens, root, "adj")
    assert len(tokens) == 2 and all(t.revoked_at is None for t in tokens)
    assert first not in repr(tokens) and second not in repr(tokens)
    world.clock.advance(minutes=5)
    revoked = _do(world, user_admin.revoke_token, root, "adj", tokens[1].id)  # the older one: `first`
    assert revoked.revoked_at == world.clock.now
    with rt.uow(read_only=True) as uow:
        with pytest.raises(ForbiddenError, match="unknown or revoked"):
            actor_for_token(uow, first)
        assert actor_for_token(uow, second).username == "adj"
    with pytest.raises(ConflictError, match="already revoked"):
        _do(world, user_admin.revoke_token, root, "adj", tokens[1].id)
    with pytest.raises(NotFoundError, match="clerk has no API token"):  # a token id of someone else
        _do(world, user_admin.revoke_token, root, "clerk", tokens[0].id)
    assert _do(world, user_admin.revoke_all_tokens, root, "adj") == [tokens[0].id]
    assert _log(world, "adj") == [{"token_revoked": tokens[0].id}, {"token_revoked": tokens[1].id}]


def test_users_created_by_an_admin_are_logged_with_a_clean_display_name(world: World) -> None:
    root = _admin(world)
    _do(world, user_admin.create_user, root, "zhang.san", ["claims_clerk", "siu"], GOOD_PASSWORD,
        display_name=" Zhang  San 张三 ")
    details = _read(world, user_directory.user_details, root, "zhang.san")
    assert details.user.display_name == "Zhang San 张三" and details.user.has_password
    assert [(e.actor, e.change) for e in details.log] == [("root", {"created": {
        "display_name": "Zhang San 张三", "password": "set", "roles": ["claims_clerk", "siu"]}})]
    with pytest.raises(ConflictError, match="already exists"):
        _do(world, user_admin.create_user, root, "zhang.san", ["siu"], GOOD_PASSWORD)
    with pytest.raises(InvalidInputError, match="letters, digits") as caught:
        _do(world, user_admin.create_user, root, "zhang san", ["siu"], GOOD_PASSWORD)
    assert caught.value.details["rule"] == "bad_username"
    with pytest.raises(InvalidInputError, match="at most 200"):
        _do(world, user_admin.set_display_name, root, "zhang.san", "z" * 201)
    _do(world, user_admin.set_display_name, root, "zhang.san", "   ")  # blank: the user name is shown
    assert _read(world, user_directory.user_details, root, "zhang.san").user.display_name == "zhang.san"


def test_users_are_found_by_part_of_a_name_and_by_role(world: World) -> None:
    root = _admin(world)
    _do(world, user_admin.create_user, root, "li.na", ["surveyor"], None, display_name="Li Na 李娜")
    _do(world, user_admin.create_user, root, "odd_name", ["surveyor"], None, display_name="100% Odd")

    def names(text: str = "", role: str | None = None) -> list[str]:
        return [u.username for u in _read(world, user_directory.search_users, root, text, role)]

    assert names() == ["adj", "analyst", "auditor", "boss", "clerk", "li.na", "mgr", "odd_name", "root"]
    assert names("LI") == ["li.na"] and names("李娜") == ["li.na"]
    assert names(role="claims_manager") == ["boss", "mgr"]
    assert names("m", "adjuster") == ["mgr"]
    assert names("%") == ["odd_name"] and names("_") == ["odd_name"]  # wildcards are searched as text
    assert names("nobody") == []


def test_the_log_is_stored_as_json_text_per_user(world: World) -> None:
    root = _admin(world)
    _do(world, user_admin.set_active, root, "analyst", False)
    with world.rt.uow(read_only=True) as uow:
        rows = uow.session.execute(text(
            "SELECT actor, username, change FROM user_changes WHERE username = 'analyst'")).all()
    assert [(r.actor, r.username, json.loads(r.change)) for r in rows] == [("root", "analyst", {"active": False})]
