"""The web app over a demo instance (users, reference data, deployed diagrams, cases at every step)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from insureflow import instance_folder, schema
from insureflow.bootstrap import App, build_app
from services.demo import demo_password, load_demo
from webui import create_app


@dataclass
class Site:
    """The app, the wired InsureFlow behind it, and ways in."""

    app: Flask
    wired: App

    def client(self) -> FlaskClient:
        """A fresh browser-like client (own cookies)."""
        return self.app.test_client()

    def signed_in(self, username: str, password: str | None = None) -> FlaskClient:
        """A client signed in through the sign-in form."""
        client = self.client()
        role = username.split(".")[0] if username.startswith("surveyor.") else username.replace(".", "_")
        response = client.post("/login", data={"username": username, "password": password or demo_password(role)})
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
        return client

    def token(self, username: str) -> dict[str, str]:
        """An Authorization header with a fresh API token of the user."""
        from engine.identity.users import create_token

        rt = self.wired.runtime
        with rt.uow() as uow:
            token = create_token(uow.session, username, rt.clock())
            uow.commit()
        return {"Authorization": f"Bearer {token}"}


def _site(db_url: str, folder: Path) -> Iterator[Site]:
    config = instance_folder.create(folder, db_url)
    wired = build_app(config)
    schema.upgrade(wired.db)
    load_demo(wired.runtime)
    app = create_app(wired, {"TESTING": True, "WTF_CSRF_ENABLED": False})
    yield Site(app, wired)
    wired.db.dispose()


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    """A fresh demo instance per test (SQLite and PostgreSQL); CSRF off for the test client."""
    yield from _site(db_url, tmp_path / "instance")
