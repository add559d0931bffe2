"""Response headers and cookie flags: a strict CSP with no inline script and no framing, nosniff and a
Referrer-Policy on every page and API answer; Secure cookies and HSTS when `[web] secure_cookies = true`;
wrong `[web]` settings refused when the app starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from insureflow import instance_folder
from insureflow.bootstrap import build_app
from tests.e2e.conftest import Site
from webui import create_app
from webui.web_security import web_settings


def _headers_hold(headers) -> None:
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_every_page_and_api_answer_carries_the_headers(site: Site) -> None:
    client = site.client()
    for path in ("/login", "/api/health", "/claim-status", "/api/openapi.json"):
        response = client.get(path)
        assert response.status_code < 500, path
        _headers_hold(response.headers)
    signed_in = site.signed_in("claims.clerk")
    response = signed_in.get("/")
    _headers_hold(response.headers)
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP by default


def _app(tmp_path: Path, web: str):
    folder = tmp_path / "instance"
    instance_folder.create(folder, f"sqlite:///{tmp_path / 'x.db'}")
    config = folder / instance_folder.CONFIG_NAME
    config.write_text(config.read_text(encoding="utf-8").replace("[web]\n", f"[web]\n{web}\n"), encoding="utf-8")
    wired = build_app(instance_folder.load(folder))
    return wired, create_app(wired, {"TESTING": True, "WTF_CSRF_ENABLED": False})


def test_secure_cookies_behind_https_and_the_client_address_behind_a_proxy(tmp_path: Path) -> None:
    wired, app = _app(tmp_path, "secure_cookies = true\ntrusted_proxies = 1")
    try:
        @app.get("/_address")
        def address() -> str:
            from flask import request
            return request.remote_addr or ""

        assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
        response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "max-age=" in response.headers["Strict-Transport-Security"]
        seen = app.test_client().get("/_address", headers={"X-Forwarded-For": "203.0.113.9"})
        assert seen.get_data(as_text=True) == "203.0.113.9"
    finally:
        wired.db.dispose()


@pytest.mark.parametrize(("raw", "complaint"), [
    ({"secure_cookie": True}, "unknown [web] settings: secure_cookie"),
    ({"secure_cookies": "yes"}, "secure_cookies must be true or false"),
    ({"trusted_proxies": -1}, "trusted_proxies must be a whole number from 0 to 5"),
])
def test_wrong_web_settings_are_named(raw: dict, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        web_settings(raw)
