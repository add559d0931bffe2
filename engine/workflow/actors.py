"""Who acts: the `Actor` the engine checks on every call, and the one query that finds it for a user name or an
API token (accounts themselves — passwords, tokens, administration — are engine/identity)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from engine.errors import EngineError, ForbiddenError, NotFoundError

from .models import ApiTokenModel, UserModel, UserRoleModel
from .unit_of_work import UnitOfWork


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


_ROLES_OF_USER = (select(UserModel.username, UserModel.active, UserRoleModel.role, UserModel.may_unmask)
                  .outerjoin(UserRoleModel, UserRoleModel.user_id == UserModel.id)
                  .where(UserModel.username == bindparam("username")))
_ROLES_OF_TOKEN = (select(UserModel.username, UserModel.active, UserRoleModel.role, UserModel.may_unmask,
                          ApiTokenModel.revoked_at)
                   .join(ApiTokenModel, ApiTokenModel.user_id == UserModel.id)
                   .outerjoin(UserRoleModel, UserRoleModel.user_id == UserModel.id)
                   .where(ApiTokenModel.token_hash == bindparam("digest")))


def _executor(where: UnitOfWork | Connection) -> Session | Connection:
    return where.session if isinstance(where, UnitOfWork) else where


def _actor_from_rows(rows: list[Any], missing: EngineError) -> Actor:
    if not rows:
        raise missing
    username, active = rows[0][0], rows[0][1]
    if not active:
        raise ForbiddenError(f"user {username!r} is deactivated")
    return Actor(username, frozenset(row[2] for row in rows if row[2]), may_unmask=bool(rows[0][3]))


def actor_for(where: UnitOfWork | Connection, username: str) -> Actor:
    """The Actor of an active user, in the caller's unit of work or on a connection of its own (one query: every
    request asks it)."""
    rows = list(_executor(where).execute(_ROLES_OF_USER, {"username": username}))
    return _actor_from_rows(rows, NotFoundError(f"no user named {username!r}"))


def token_digest(token: str) -> str:
    """What is stored of an API token: its sha256 (the token itself is shown once)."""
    return hashlib.sha256(token.encode()).hexdigest()


def actor_for_token(where: UnitOfWork | Connection, token: str) -> Actor:
    """The Actor a bearer token stands for, or ForbiddenError."""
    rows = list(_executor(where).execute(_ROLES_OF_TOKEN, {"digest": token_digest(token)}))
    if rows and rows[0][4] is not None:
        rows = []
    return _actor_from_rows(rows, ForbiddenError("unknown or revoked token"))
