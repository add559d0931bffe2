"""The user directory as administrators read it: users found by name and role, one user's API tokens and
the administration log. Only administrators (or the operator) may read it; changes are engine/identity/user_admin.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.workflow.actors import Actor, require
from engine.workflow.models import ApiTokenModel, UserChangeModel, UserModel, UserRoleModel

from .users import find_user

ADMIN = "admin"


@dataclass(frozen=True)
class UserInfo:
    """A user as the administration pages show it."""

    username: str
    display_name: str
    roles: list[str]
    active: bool
    may_unmask: bool
    created_at: datetime
    has_password: bool

    @classmethod
    def of(cls, user: UserModel) -> UserInfo:
        """The plain view of a stored user."""
        return cls(user.username, user.display_name, sorted(roles_of(user)), user.active, user.may_unmask,
                   user.created_at, bool(user.password_hash))


@dataclass(frozen=True)
class TokenInfo:
    """An API token as an administrator sees it: when it was created and revoked, never the token."""

    id: int
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class UserChange:
    """One entry of the administration log."""

    id: int
    occurred_at: datetime
    actor: str
    username: str
    change: dict[str, Any]


@dataclass(frozen=True)
class UserDetails:
    """Everything the administrator's page of one user shows."""

    user: UserInfo
    tokens: list[TokenInfo]
    log: list[UserChange]


def require_admin(actor: Actor, doing: str) -> None:
    """ForbiddenError unless the actor administers users."""
    require(actor, {ADMIN}, doing)


def roles_of(user: UserModel) -> set[str]:
    """The user's roles."""
    return {r.role for r in user.roles}


def administered(session: Session, actor: Actor, username: str, doing: str) -> UserModel:
    """The user an administrator reads or changes (ForbiddenError for anyone else, NotFoundError)."""
    require_admin(actor, doing)
    return find_user(session, username)


def list_tokens(session: Session, actor: Actor, username: str) -> list[TokenInfo]:
    """The user's API tokens, newest first: created and revoked times only."""
    user = administered(session, actor, username, "see API tokens")
    rows = session.scalars(select(ApiTokenModel).where(ApiTokenModel.user_id == user.id)
                           .order_by(ApiTokenModel.id.desc()))
    return [TokenInfo(t.id, t.created_at, t.revoked_at) for t in rows]


def user_log(session: Session, actor: Actor, username: str) -> list[UserChange]:
    """What administrators changed on the user, newest first."""
    administered(session, actor, username, "see the administration log")
    rows = session.scalars(select(UserChangeModel).where(UserChangeModel.username == username)
                           .order_by(UserChangeModel.id.desc()))
    return [UserChange(r.id, r.occurred_at, r.actor, r.username, json.loads(r.change)) for r in rows]


def user_details(session: Session, actor: Actor, username: str) -> UserDetails:
    """One user with their tokens and administration log, for an administrator."""
    user = administered(session, actor, username, "see users")
    return UserDetails(UserInfo.of(user), list_tokens(session, actor, username), user_log(session, actor, username))


def search_users(session: Session, actor: Actor, text: str = "", role: str | None = None) -> list[UserInfo]:
    """Users whose user name or display name contains `text` (any case), optionally holding `role`."""
    require_admin(actor, "see users")
    query = select(UserModel).order_by(UserModel.username)
    words = text.strip().lower()
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(func.lower(UserModel.username).like(pattern, escape="\\"),
                                func.lower(UserModel.display_name).like(pattern, escape="\\")))
    if role:
        query = query.where(UserModel.id.in_(select(UserRoleModel.user_id).where(UserRoleModel.role == role)))
    return [UserInfo.of(u) for u in session.scalars(query)]
