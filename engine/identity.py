"""Who acts: users, their roles, API tokens, and the `Actor` the engine checks."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .errors import ConflictError, EngineError, ForbiddenError, InvalidInputError, NotFoundError
from .models import ApiTokenModel, UserModel, UserRoleModel
from .settings import EngineSettings


@dataclass(frozen=True)
class Actor:
    """A person (or the local operator) performing an engine operation."""

    username: str
    roles: frozenset[str]
    # The operator at the command line: may deploy, run the worker, manage users. Never does
    # human tasks — those need a named user with the task's role.
    is_operator: bool = False
    # Holds the separate permission to reveal masked personal data (never implied by a role).
    may_unmask: bool = False
    # A customer who proved, with their claim's access code, that they are the claimant of this one case
    # (tasks/claim_access.py): they may deliver its `deliveredBy="customer"` messages and nothing else.
    customer_of: int | None = None

    def has_any(self, roles: set[str] | frozenset[str]) -> bool:
        """Whether the actor holds at least one of `roles`."""
        return bool(self.roles & roles)


OPERATOR = Actor("operator", frozenset(), is_operator=True)


def require(actor: Actor, roles: set[str], doing: str) -> None:
    """Raise ForbiddenError unless the actor is the operator or holds one of `roles`."""
    if not actor.is_operator and not actor.has_any(roles):
        raise ForbiddenError(f"{actor.username} may not {doing}: needs one of the roles {', '.join(sorted(roles))}")


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


_ROLES_OF_USER = (select(UserModel.username, UserModel.active, UserRoleModel.role, UserModel.may_unmask)
                  .outerjoin(UserRoleModel, UserRoleModel.user_id == UserModel.id)
                  .where(UserModel.username == bindparam("username")))
_ROLES_OF_TOKEN = (select(UserModel.username, UserModel.active, UserRoleModel.role, UserModel.may_unmask,
                          ApiTokenModel.revoked_at)
                   .join(ApiTokenModel, ApiTokenModel.user_id == UserModel.id)
                   .outerjoin(UserRoleModel, UserRoleModel.user_id == UserModel.id)
                   .where(ApiTokenModel.token_hash == bindparam("digest")))


def _actor_from_rows(rows: list[Any], missing: EngineError) -> Actor:
    if not rows:
        raise missing
    username, active = rows[0][0], rows[0][1]
    if not active:
        raise ForbiddenError(f"user {username!r} is deactivated")
    return Actor(username, frozenset(row[2] for row in rows if row[2]), may_unmask=bool(rows[0][3]))


def actor_for(session: Session, username: str) -> Actor:
    """The Actor of an active user (one query: every request asks it)."""
    rows = list(session.execute(_ROLES_OF_USER, {"username": username}))
    return _actor_from_rows(rows, NotFoundError(f"no user named {username!r}"))


def list_users(session: Session) -> list[UserModel]:
    """Every user, by name."""
    return list(session.scalars(select(UserModel).order_by(UserModel.username)))


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, username: str, now: datetime) -> str:
    """A new bearer token for `username`; only its hash is stored, so it is shown once."""
    user = find_user(session, username)
    token = "ifw_" + secrets.token_urlsafe(32)
    session.add(ApiTokenModel(user_id=user.id, token_hash=_token_digest(token), created_at=now))
    session.flush()
    return token


def actor_for_token(session: Session, token: str) -> Actor:
    """The Actor a bearer token stands for, or ForbiddenError."""
    rows = list(session.execute(_ROLES_OF_TOKEN, {"digest": _token_digest(token)}))
    if rows and rows[0][4] is not None:
        rows = []
    return _actor_from_rows(rows, ForbiddenError("unknown or revoked token"))
