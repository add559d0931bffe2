"""Administration of users: roles, display name, activation, passwords, the unmask permission and API
tokens. Only administrators (or the operator) may do any of it; every change is recorded in the
append-only `user_changes` log, and the guard rails keep at least one active administrator. Reading users,
tokens and the log is engine/identity/user_directory.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.workflow.actors import Actor
from engine.workflow.models import ApiTokenModel, UserChangeModel, UserModel, UserRoleModel
from engine.workflow.settings import EngineSettings

from .user_directory import ADMIN, TokenInfo, administered, require_admin, roles_of
from .users import add_user, hash_password

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200  # the sign-in form accepts no longer one
MAX_DISPLAY_NAME_LENGTH = 200


def _record(session: Session, actor: Actor, username: str, change: dict[str, Any], now: datetime) -> None:
    session.add(UserChangeModel(occurred_at=now, actor=actor.username, username=username,
                                change=json.dumps(change, sort_keys=True, ensure_ascii=False)))


def _check_roles(settings: EngineSettings, roles: list[str]) -> None:
    unknown = sorted(set(roles) - settings.known_roles)
    if unknown:
        raise InvalidInputError(
            f"unknown role(s): {', '.join(unknown)} (known: {', '.join(sorted(settings.known_roles))})",
            {"fields": {"roles": "unknown role"}, "rule": "unknown_role", "roles": unknown})


def check_password_policy(username: str, password: str) -> None:
    """Raise InvalidInputError unless the password is 10 to 200 characters long and not the user name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
                                {"fields": {"password": "too short"}, "rule": "password_too_short"})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(f"the password may have at most {MAX_PASSWORD_LENGTH} characters",
                                {"fields": {"password": "too long"}, "rule": "password_too_long"})
    if password.strip().lower() == username.lower():
        raise InvalidInputError("the password must not be the user name",
                                {"fields": {"password": "is the user name"}, "rule": "password_is_username"})


def _clean_display_name(display_name: str, username: str) -> str:
    name = " ".join(display_name.split())
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise InvalidInputError(f"the display name may have at most {MAX_DISPLAY_NAME_LENGTH} characters",
                                {"fields": {"display_name": "too long"}, "rule": "display_name_too_long"})
    return name or username


def _lock_admins(session: Session) -> list[int]:
    """The ids of the active administrators, locked (PostgreSQL) so that two concurrent changes cannot
    each remove a different one and leave none; SQLite runs one writer at a time anyway."""
    query = (select(UserModel.id).join(UserRoleModel, UserRoleModel.user_id == UserModel.id)
             .where(UserRoleModel.role == ADMIN, UserModel.active.is_(True)).with_for_update(of=UserModel))
    return list(session.scalars(query))


def _keep_an_admin(session: Session, actor: Actor, user: UserModel, losing: str) -> None:
    """Refuse when `user` losing admin rights (`losing`: "role" or "active") would lock every admin out."""
    if not actor.is_operator and actor.username == user.username:
        if losing == "active":
            raise ConflictError("you cannot deactivate your own account", {"rule": "own_account"})
        raise ConflictError("you cannot remove your own admin role", {"rule": "own_admin_role"})
    if [uid for uid in _lock_admins(session) if uid != user.id]:
        return
    what = "be deactivated" if losing == "active" else "lose the admin role"
    raise ConflictError(f"{user.username} is the last active administrator and cannot {what}",
                        {"rule": "last_admin"})


def create_user(
    session: Session, settings: EngineSettings, actor: Actor, username: str, roles: list[str],
    password: str | None, now: datetime, display_name: str = "",
) -> UserModel:
    """Create a user as an administrator: known roles, a password that meets the policy; recorded in the log."""
    require_admin(actor, "create users")
    _check_roles(settings, roles)
    if password is not None:
        check_password_policy(username, password)
    user = add_user(session, settings, username, roles, password, now,
                    _clean_display_name(display_name, username))
    created: dict[str, Any] = {"roles": sorted(set(roles)), "display_name": user.display_name}
    if password is not None:
        created["password"] = "set"
    _record(session, actor, user.username, {"created": created}, now)
    return user


def set_roles(
    session: Session, settings: EngineSettings, actor: Actor, username: str, roles: list[str], now: datetime,
) -> dict[str, Any]:
    """Give the user exactly these roles; returns what changed ({} when nothing did)."""
    user = administered(session, actor, username, "change roles")
    _check_roles(settings, roles)
    wanted, held = set(roles), roles_of(user)
    if ADMIN in held and ADMIN not in wanted:
        _keep_an_admin(session, actor, user, "role")
    added, removed = sorted(wanted - held), sorted(held - wanted)
    if not added and not removed:
        return {}
    user.roles = [r for r in user.roles if r.role in wanted] + [UserRoleModel(role=r) for r in added]
    change = {"roles": {"added": added, "removed": removed}}
    _record(session, actor, username, change, now)
    session.flush()
    return change


def _set(session: Session, actor: Actor, username: str, doing: str, attribute: str, value: Any, now: datetime,
         guard: Callable[[UserModel], None] | None = None) -> dict[str, Any]:
    """Set one attribute of a user and log it; returns what changed ({} when it already had that value). The
    guard runs before the change (e.g. the last active admin stays)."""
    user = administered(session, actor, username, doing)
    if getattr(user, attribute) == value:
        return {}
    if guard is not None:
        guard(user)
    setattr(user, attribute, value)
    change = {attribute: value}
    _record(session, actor, username, change, now)
    session.flush()
    return change


def set_display_name(
    session: Session, settings: EngineSettings, actor: Actor, username: str, display_name: str, now: datetime,
) -> dict[str, Any]:
    """Change the name shown for the user (blank means the user name); returns what changed."""
    return _set(session, actor, username, "change display names", "display_name",
                _clean_display_name(display_name, username), now)


def set_active(
    session: Session, settings: EngineSettings, actor: Actor, username: str, active: bool, now: datetime,
) -> dict[str, Any]:
    """Activate or deactivate a user; a deactivated user can neither sign in nor use a token."""
    def keep_an_admin(user: UserModel) -> None:
        if not active and ADMIN in roles_of(user):
            _keep_an_admin(session, actor, user, "active")
    return _set(session, actor, username, "activate or deactivate users", "active", active, now, keep_an_admin)


def set_may_unmask(
    session: Session, settings: EngineSettings, actor: Actor, username: str, allowed: bool, now: datetime,
) -> dict[str, Any]:
    """Grant or withdraw the permission to reveal masked personal data."""
    return _set(session, actor, username, "grant or withdraw the unmask permission", "may_unmask", allowed, now)


def set_password(
    session: Session, settings: EngineSettings, actor: Actor, username: str, password: str, now: datetime,
) -> dict[str, Any]:
    """Set a new password that meets the policy; the log says only that it was reset."""
    user = administered(session, actor, username, "set passwords")
    check_password_policy(username, password)
    user.password_hash = hash_password(password)
    change = {"password": "reset"}
    _record(session, actor, username, change, now)
    return change


def update_user(
    session: Session, settings: EngineSettings, actor: Actor, username: str, *, display_name: str,
    roles: list[str], active: bool, may_unmask: bool, now: datetime,
) -> dict[str, Any]:
    """Apply the administrator's edit of a user as one change (all of it or nothing); returns what changed."""
    changes: dict[str, Any] = {}
    changes |= set_display_name(session, settings, actor, username, display_name, now)
    changes |= set_roles(session, settings, actor, username, roles, now)
    changes |= set_active(session, settings, actor, username, active, now)
    changes |= set_may_unmask(session, settings, actor, username, may_unmask, now)
    return changes


def revoke_token(
    session: Session, settings: EngineSettings, actor: Actor, username: str, token_id: int, now: datetime,
) -> TokenInfo:
    """Revoke one of the user's tokens: from now on it is refused."""
    user = administered(session, actor, username, "revoke API tokens")
    token = session.scalar(select(ApiTokenModel).where(ApiTokenModel.id == token_id,
                                                       ApiTokenModel.user_id == user.id))
    if token is None:
        raise NotFoundError(f"{username} has no API token {token_id}")
    if token.revoked_at is not None:
        raise ConflictError(f"API token {token_id} of {username} is already revoked", {"rule": "already_revoked"})
    token.revoked_at = now
    _record(session, actor, username, {"token_revoked": token_id}, now)
    return TokenInfo(token.id, token.created_at, now)


def revoke_all_tokens(
    session: Session, settings: EngineSettings, actor: Actor, username: str, now: datetime,
) -> list[int]:
    """Revoke every token of the user that still works; returns their ids."""
    user = administered(session, actor, username, "revoke API tokens")
    tokens = list(session.scalars(select(ApiTokenModel).where(
        ApiTokenModel.user_id == user.id, ApiTokenModel.revoked_at.is_(None)).order_by(ApiTokenModel.id)))
    for token in tokens:
        token.revoked_at = now
        _record(session, actor, username, {"token_revoked": token.id}, now)
    return [t.id for t in tokens]


