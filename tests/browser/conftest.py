"""Browser tests: Debian's Chromium driven by Playwright against the app served by a real HTTP server
(werkzeug, in a thread) over a fresh demo instance; a screenshot is saved when a test fails."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from werkzeug.serving import make_server

from insureflow import instance_folder, schema
from insureflow.bootstrap import App, build_app
from services.demo import demo_password, load_demo
from webui import create_app

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CHROMIUM = os.environ.get("INSUREFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@dataclass
class LiveSite:
    """The served app: its base URL and the wired InsureFlow behind it."""

    url: str
    wired: App

    def landing_pages(self) -> set[str]:
        """The pages a sign-in may land on."""
        return {f"{self.url}{path}" for path in ("", "/audit", "/studio", "/admin")}

    def sign_in(self, page: Page, username: str, password: str | None = None) -> None:
        """Sign in through the sign-in page and wait for the page the user lands on (their inbox, or the
        auditor's, analyst's or administrator's area)."""
        page.goto(f"{self.url}/login")
        page.fill("#username", username)
        page.fill("#password", password or demo_password(username.replace(".", "_")))
        page.click("#login-form button[type=submit]")
        page.wait_for_url(lambda url: url.split("?")[0].rstrip("/") in self.landing_pages())


def _closing_first(app: WSGIApplication) -> WSGIApplication:
    """The app with each response read whole and its iterable closed before the server writes it.

    werkzeug's development server closes a response's iterable only after draining the socket; when the
    browser drops a connection (a page left while its stylesheet loads) that drain raises first, the open
    static file is left to the garbage collector, and its ResourceWarning fails whichever test runs then."""

    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return serve


@pytest.fixture
def live_site(tmp_path: Path) -> Iterator[LiveSite]:
    """A fresh demo instance (SQLite) served on a random loopback port for one test."""
    config = instance_folder.create(tmp_path / "instance", f"sqlite:///{tmp_path / 'insureflow.db'}")
    wired = build_app(config)
    schema.upgrade(wired.db)
    load_demo(wired.runtime)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the test output
    server = make_server("127.0.0.1", 0, _closing_first(create_app(wired)), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveSite(f"http://127.0.0.1:{server.server_port}", wired)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        wired.db.dispose()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's headless Chromium; missing means the set-up did not run — fail, never skip."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run the tests with `make test`, which installs chromium as root")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's outcome on the test item, so fixtures can tell that the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (own cookies) in English at a desktop size; screenshot on failure."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
