"""The wired InsureFlow app behind a request, and who is acting: a signed-in user or a bearer token."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask_login import UserMixin, current_user

from engine.workflow import Actor, Runtime
from services.accounts import signed_in_actor, token_actor

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
    g.signed_in = signed_in_actor(runtime(), username)  # asked once a request: current_actor takes it from here
    if g.signed_in is None:
        return None  # deleted or deactivated since signing in
    return SignedIn(username)


def current_actor() -> Actor | None:
    """The engine Actor of this request: a bearer token, else the signed-in user, else None."""
    if "actor" in g:
        return g.actor
    actor = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        actor = token_actor(runtime(), header.removeprefix("Bearer ").strip())
    elif current_user.is_authenticated:
        actor = g.pop("signed_in", None) or signed_in_actor(runtime(), current_user.id)
    g.actor = actor
    return actor
