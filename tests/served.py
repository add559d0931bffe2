"""`insureflow serve` and `insureflow worker` as real processes, for the benchmarks (bench/) and the tests that need
several servers on one database (tests/integration/test_multi_host.py)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The worktree first, so that a served process imports this code (and tests.fixtures.handlers, when an instance's
# handler_modules names it) whatever the caller's working directory.
ENVIRONMENT = {"PYTHONPATH": str(ROOT)}


class ServerStartError(Exception):
    """The server did not answer /api/health in time."""


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: Path, workers: int, log: Path, *, env: dict[str, str] | None = None,
                 wait_seconds: float = 60) -> tuple[subprocess.Popen, int]:
    """`insureflow serve --no-worker` on a free port in its own process group, once /api/health answers."""
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "insureflow", "--instance", str(folder), "serve", "--port",
                                   str(port), "--workers", str(workers), "--no-worker"], cwd=ROOT,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                  env={**os.environ, **ENVIRONMENT, **(env or {})})
    deadline = time.monotonic() + wait_seconds  # a bounded wait: a server that cannot start must not hang the run
    while time.monotonic() < deadline and server.poll() is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/api/health")
            with conn.getresponse() as answer:
                if answer.status == 200:
                    return server, port
        except OSError:
            time.sleep(0.3)
        finally:
            conn.close()
    stop_server(server)
    raise ServerStartError(f"the server did not answer /api/health within {wait_seconds:g} s:\n"
                           f"{log.read_text()[-2000:]}")


def stop_server(server: subprocess.Popen) -> None:
    """Ctrl-C to the server's process group, as a terminal sends it; SIGKILL if it has not stopped in 30 s."""
    # The client has the last answer as soon as the worker's send() returns, but the worker is still in
    # sendall: a Ctrl-C at that instant is a (harmless) SystemExit traceback in the log, so give it a moment.
    time.sleep(0.5)
    for sig, wait in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
        if server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=wait)


def start_worker_once(folder: Path, now: str) -> subprocess.Popen:
    """`insureflow --json worker --once --now NOW` (one pass of the timer worker at that moment), started."""
    return subprocess.Popen([sys.executable, "-m", "insureflow", "--instance", str(folder), "--json", "worker",
                             "--once", "--now", now], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env={**os.environ, **ENVIRONMENT})


def worker_report(worker: subprocess.Popen, timeout: float = 60) -> dict[str, Any]:
    """The JSON report of a `worker --once` started by start_worker_once; killed when it overruns."""
    try:
        out, err = worker.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.communicate()
        raise
    if worker.returncode != 0:
        raise RuntimeError(f"insureflow worker --once exited {worker.returncode}: {err[-2000:]}")
    return json.loads(out)
