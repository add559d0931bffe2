"""`insureflow serve`: gunicorn with several workers for the web app, and the timer worker beside it;
Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from .bootstrap import WEB_WORKER_TIMEOUT


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, folder: Path, options: dict[str, Any]):
        self.folder = folder
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from .wsgi import create

        return create(str(self.folder))


RESTART_DELAY_SECONDS = 1.0


def supervise_timer_worker(folder: Path) -> None:
    """Run `insureflow worker` as a child and start it again, saying so, whenever it dies (a crash, the
    OOM killer), as gunicorn does for its web workers; SIGTERM or Ctrl-C stops both. A process of its
    own, because gunicorn's master reaps every child it has, including one it did not start."""
    stopping = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def stop(_signum: int, _frame: object) -> None:
        stopping.set()
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    restarts = 0
    while not stopping.is_set():
        child = subprocess.Popen([sys.executable, "-m", "insureflow", "--instance", str(folder), "worker"])
        if stopping.is_set():  # the signal came while it was starting
            child.terminate()
        code = child.wait()
        if stopping.wait(RESTART_DELAY_SECONDS):
            break
        restarts += 1
        print(f"insureflow serve: the timer worker exited with code {code}; starting it again "
              f"(restart {restarts})", file=sys.stderr, flush=True)
    if child is not None and child.poll() is None:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def serve(folder: Path, host: str, port: int, workers: int, with_worker: bool = True) -> None:
    """Serve until interrupted; the timer worker runs as a child process, is started again when it dies,
    and stops with the server."""
    os.environ["INSUREFLOW_INSTANCE"] = str(folder)
    timer_worker = None
    if with_worker:
        # Its own session: Ctrl-C reaches the server, which then stops the worker with SIGTERM at a
        # moment the worker handles (never in the middle of starting up).
        timer_worker = subprocess.Popen([sys.executable, "-m", "insureflow", "--instance", str(folder), "worker",
                                         "--supervised"], start_new_session=True)
    try:
        _Gunicorn(folder, {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-",
                           "graceful_timeout": 5, "timeout": WEB_WORKER_TIMEOUT}).run()
    finally:
        if timer_worker is not None and timer_worker.poll() is None:
            timer_worker.terminate()
            try:
                timer_worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                timer_worker.kill()
