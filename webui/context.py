"""The wired InsureFlow app behind a request, and who is acting: a signed-in user or a bearer token."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask_login import UserMixin, current_user

from engine.errors import ForbiddenError, NotFoundError
from engine.identity import Actor, actor_for, actor_for_token
from engine.runtime import Runtime

from .extensions import login_manager


def wired() -> Any:
    """The insureflow.bootstrap.App this web app serves."""
    return current_app.extensions["insureflow"]


def runtime() -> Runtime:
    """The engine runtime."""
    return wired().runtime


class SignedIn(UserMixin):
    """A signed-in user as Flask-Login keeps it: only the user name lives in the session."""

    def __init__(self, username: str):
        self.id = username


@login_manager.user_loader
def _load_user(username: str) -> SignedIn | None:
    try:
        with runtime().uow(read_only=True) as uow:
            actor_for(uow.session, username)
    except (NotFoundError, ForbiddenError):
        return None  # deleted or deactivated since signing in
    return SignedIn(username)


def current_actor() -> Actor | None:
    """The engine Actor of this request: a bearer token, else the signed-in user, else None."""
    if "actor" in g:
        return g.actor
    actor = None
    header = request.headers.get("Authorization", "")
    with runtime().uow(read_only=True) as uow:
        if header.startswith("Bearer "):
            try:
                actor = actor_for_token(uow.session, header.removeprefix("Bearer ").strip())
            except ForbiddenError:
                actor = None
        elif current_user.is_authenticated:
            try:
                actor = actor_for(uow.session, current_user.id)
            except (NotFoundError, ForbiddenError):
                actor = None
    g.actor = actor
    return actor
