"""The API's ways in and its errors: 401 without a caller, CSRF for browser sessions, JSON 404/405/413."""

from __future__ import annotations

import io
import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from tests.e2e.api_support import demo_task, error, ok, shared_site
from tests.e2e.conftest import Site
from webui import create_app

__all__ = ["shared_site"]


@pytest.fixture(scope="module")
def guarded(shared_site: Site) -> Flask:
    """The same instance served with CSRF protection on, as in production."""
    return create_app(shared_site.wired, {"TESTING": True})


def browser(app: Flask, username: str) -> tuple[FlaskClient, str]:
    """A client with a signed-in session cookie for `username`, and the page's CSRF token for that session."""
    client = app.test_client()
    raw = secrets.token_hex(20)
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"], session["csrf_token"] = username, True, raw
    return client, URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/processes"), ("GET", "/api/tasks"), ("GET", "/api/instances/1"), ("GET", "/api/audit/verify"),
    ("POST", "/api/deployments"), ("POST", "/api/tasks/1/complete"), ("POST", "/api/processes/claims/instances"),
])
def test_a_call_without_credentials_is_401_with_the_error_body(shared_site: Site, method: str, path: str) -> None:
    response = shared_site.client().open(path, method=method, json={})
    assert error(response, 401)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_401(shared_site: Site) -> None:
    response = shared_site.client().get("/api/tasks", headers={"Authorization": "Bearer ifw_not-a-token"})
    assert error(response, 401)["code"] == "unauthorized"


def test_an_unknown_api_path_is_a_json_404_and_a_wrong_method_a_json_405(shared_site: Site) -> None:
    client = shared_site.client()
    assert error(client.get("/api/no/such/thing"), 404)["code"] == "not_found"
    wrong = client.delete("/api/tasks")
    assert error(wrong, 405)["code"] == "method_not_allowed" and "GET" in wrong.headers["Allow"]


def test_the_web_pages_keep_their_own_error_pages(shared_site: Site) -> None:
    response = shared_site.client().get("/no-such-page")
    assert response.status_code == 404 and response.mimetype != "application/json"


def test_an_upload_over_the_size_limit_is_a_json_413(shared_site: Site) -> None:
    small = create_app(shared_site.wired, {"TESTING": True, "WTF_CSRF_ENABLED": False, "MAX_CONTENT_LENGTH": 1024})
    response = small.test_client().post("/api/processes/validate", headers=shared_site.token("analyst"),
                                        data={"files": [(io.BytesIO(b"x" * 4096), "big.bpmn")]})
    assert error(response, 413)["code"] == "too_large"


def test_a_browser_session_reads_without_a_csrf_token(guarded: Flask) -> None:
    client, _token = browser(guarded, "claims.clerk")
    assert ok(client.get("/api/tasks"))["total"] >= 1


def test_a_browser_sessions_change_without_the_csrf_token_is_refused(shared_site: Site, guarded: Flask) -> None:
    task_id, _ = demo_task(shared_site, "request_documents")
    client, _token = browser(guarded, "claims.clerk")
    problem = error(client.post(f"/api/tasks/{task_id}/claim"), 400)
    assert problem["code"] == "csrf_failed"
    assert error(client.post(f"/api/tasks/{task_id}/claim", headers={"X-CSRFToken": "forged"}), 400)
    assert ok(client.get(f"/api/tasks/{task_id}"))["assignee"] is None  # nothing changed


def test_a_browser_sessions_change_with_the_csrf_token_goes_through(shared_site: Site, guarded: Flask) -> None:
    task_id, _ = demo_task(shared_site, "request_documents")
    client, token = browser(guarded, "claims.clerk")
    assert ok(client.post(f"/api/tasks/{task_id}/claim", headers={"X-CSRFToken": token}))["assignee"] == "claims.clerk"
    assert ok(client.post(f"/api/tasks/{task_id}/release", headers={"X-CSRFToken": token}))["assignee"] is None


def test_a_bearer_token_needs_no_csrf_token(shared_site: Site, guarded: Flask) -> None:
    task_id, _ = demo_task(shared_site, "request_documents")
    client, headers = guarded.test_client(), shared_site.token("claims.clerk")
    assert ok(client.post(f"/api/tasks/{task_id}/claim", headers=headers))["assignee"] == "claims.clerk"
    assert ok(client.post(f"/api/tasks/{task_id}/release", headers=headers))["assignee"] is None


def test_a_session_of_a_user_who_does_not_exist_is_401(guarded: Flask) -> None:
    client, _token = browser(guarded, "ghost")
    assert error(client.get("/api/tasks"), 401)["code"] == "unauthorized"
