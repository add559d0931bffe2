"""Who is acting: a user signing in with a password, a signed-in user, or an API bearer token — each an
engine Actor, or None for someone unknown, deactivated or holding a revoked token."""

from __future__ import annotations

from sqlalchemy import select

from engine.errors import ForbiddenError, NotFoundError
from engine.identity import check_password, hash_password
from engine.workflow import Actor, Runtime, actor_for, actor_for_token
from engine.workflow.models import UserModel

# Checked against when the user name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = hash_password("not a password of anyone")


def password_ok(rt: Runtime, username: str, password: str) -> bool:
    """Whether the active user's password is this one (as slow for an unknown name as for a wrong password)."""
    with rt.uow(read_only=True) as uow:
        user = uow.session.scalar(select(UserModel).where(UserModel.username == username))
        if user is None or not user.password_hash:
            check_password(_DUMMY_HASH, password)
            return False
        return bool(user.active) and check_password(user.password_hash, password)


def acting_user(rt: Runtime, username: str) -> Actor:
    """The Actor of the named user for a command run in their name (NotFoundError for an unknown name,
    ForbiddenError for a deactivated user)."""
    with rt.uow(read_only=True) as uow:
        return actor_for(uow, username)


def signed_in_actor(rt: Runtime, username: str) -> Actor | None:
    """The Actor of a signed-in user; None when deleted or deactivated since signing in (one statement, asked on
    every request)."""
    with rt.one_statement() as conn:
        try:
            return actor_for(conn, username)
        except (NotFoundError, ForbiddenError):
            return None


def token_actor(rt: Runtime, token: str) -> Actor | None:
    """The Actor an API token stands for; None for an unknown or revoked token, or a deactivated user (one
    statement, asked on every request)."""
    with rt.one_statement() as conn:
        try:
            return actor_for_token(conn, token)
        except ForbiddenError:
            return None
