"""User administration, for the admin pages and the command line alike: find users, create one, change one
(roles, name, active, unmask permission, password, tokens), read one's log. The engine checks that the actor
administers users (engine/identity/user_admin.py); each call is one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.identity import (
    TokenInfo,
    UserChange,
    UserDetails,
    UserInfo,
    create_token,
    list_users,
    user_admin,
    user_directory,
)
from engine.workflow import Actor, EngineSettings, Runtime

# An administration change of engine/identity/user_admin.py:
# (session, settings, actor, username, now=…, **what) → result.
Change = Callable[..., Any]


@dataclass(frozen=True)
class Account:
    """A user as the list of users shows it."""

    username: str
    display_name: str
    active: bool
    roles: tuple[str, ...]


def find_users(rt: Runtime, actor: Actor, text: str = "", role: str | None = None) -> list[UserInfo]:
    """Users whose name holds the text, with the role when given."""
    with rt.uow(read_only=True) as uow:
        return user_directory.search_users(uow.session, actor, text, role)


def all_users(rt: Runtime) -> list[Account]:
    """Every user and their roles (the local operator's list)."""
    with rt.uow(read_only=True) as uow:
        return [Account(u.username, u.display_name, u.active, tuple(r.role for r in u.roles))
                for u in list_users(uow.session)]


def user_page(rt: Runtime, actor: Actor, username: str) -> UserDetails:
    """One user with their API tokens and administration log."""
    with rt.uow(read_only=True) as uow:
        return user_directory.user_details(uow.session, actor, username)


def user_log(rt: Runtime, actor: Actor, username: str) -> list[UserChange]:
    """What administrators changed on a user, newest first."""
    with rt.uow(read_only=True) as uow:
        return user_directory.user_log(uow.session, actor, username)


def user_tokens(rt: Runtime, actor: Actor, username: str) -> list[TokenInfo]:
    """A user's API tokens: created and revoked times (never the token)."""
    with rt.uow(read_only=True) as uow:
        return user_directory.list_tokens(uow.session, actor, username)


def create_user(rt: Runtime, actor: Actor, username: str, roles: list[str], password: str | None,
                display_name: str = "") -> tuple[str, ...]:
    """Create a user with roles and (when given) a password that meets the policy; their roles, sorted."""
    with rt.uow() as uow:
        user = user_admin.create_user(uow.session, rt.settings, actor, username, roles, password, rt.clock(),
                                      display_name)
        created = tuple(sorted(r.role for r in user.roles))
        uow.commit()
    return created


def change_user(rt: Runtime, actor: Actor, username: str, change: Change, **what: Any) -> Any:
    """Run one administration change (an engine/identity/user_admin.py setter) in its own unit of work; its result."""
    with rt.uow() as uow:
        result = change(uow.session, rt.settings, actor, username, now=rt.clock(), **what)
        uow.commit()
    return result


def new_token(rt: Runtime, username: str) -> str:
    """A bearer token for the user, shown once and stored hashed (the local operator's command)."""
    with rt.uow() as uow:
        token = create_token(uow.session, username, rt.clock())
        uow.commit()
    return token


def revoke_tokens(session: Session, settings: EngineSettings, actor: Actor, username: str, *, now: Any,
                  token_id: int | None = None) -> list[int]:
    """A change for `change_user`: revoke the one token, or every token of the user that still works."""
    if token_id is None:
        return user_admin.revoke_all_tokens(session, settings, actor, username, now)
    return [user_admin.revoke_token(session, settings, actor, username, token_id, now).id]
