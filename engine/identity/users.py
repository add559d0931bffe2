"""User accounts: creating users with their roles, passwords (scrypt), finding and listing users, API tokens.

The `Actor` the engine checks, and how a user name or a token becomes one, is engine/workflow/actors.py."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.workflow.actors import token_digest
from engine.workflow.models import ApiTokenModel, UserModel, UserRoleModel
from engine.workflow.settings import EngineSettings


def hash_password(password: str) -> str:
    """scrypt with a random salt, as `scrypt$n$r$p$salt$hash`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def check_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash (constant-time)."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or not 2 <= int(n) <= 2**20:  # refuse absurd cost parameters outright
            return False
        expected = bytes.fromhex(digest)
        actual = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected) or 64)
    except (ValueError, TypeError, OverflowError):  # a malformed stored value never matches
        return False
    return hmac.compare_digest(actual, expected)


def add_user(
    session: Session, settings: EngineSettings, username: str, roles: list[str], password: str | None,
    now: datetime, display_name: str = "",
) -> UserModel:
    """Create a user with roles; every role must be known."""
    if (not username or len(username) > 80
            or not username.replace("_", "").replace(".", "").replace("-", "").isalnum()):
        raise InvalidInputError(f"user name {username!r} must be 1 to 80 letters, digits, '.', '-' or '_'",
                                {"fields": {"username": "invalid characters"}, "rule": "bad_username"})
    unknown = sorted(set(roles) - settings.known_roles)
    if unknown:
        known = ", ".join(sorted(settings.known_roles))
        raise InvalidInputError(f"unknown role(s): {', '.join(unknown)} (known: {known})")
    if session.scalar(select(UserModel).where(UserModel.username == username)) is not None:
        raise ConflictError(f"user {username!r} already exists",
                            {"fields": {"username": "already exists"}, "rule": "user_exists"})
    user = UserModel(
        username=username, display_name=display_name or username, created_at=now, active=True,
        password_hash=hash_password(password) if password else None,
        roles=[UserRoleModel(role=r) for r in sorted(set(roles))],
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> UserModel:
    """The user named `username`, or NotFoundError."""
    user = session.scalar(select(UserModel).where(UserModel.username == username))
    if user is None:
        raise NotFoundError(f"no user named {username!r}")
    return user


def list_users(session: Session) -> list[UserModel]:
    """Every user, by name."""
    return list(session.scalars(select(UserModel).order_by(UserModel.username)))


def create_token(session: Session, username: str, now: datetime) -> str:
    """A new bearer token for `username`; only its hash is stored, so it is shown once."""
    user = find_user(session, username)
    token = "ifw_" + secrets.token_urlsafe(32)
    session.add(ApiTokenModel(user_id=user.id, token_hash=token_digest(token), created_at=now))
    session.flush()
    return token
