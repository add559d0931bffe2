"""`insureflow serve`: gunicorn with several workers for the web app, and the timer worker beside it;
Ctrl-C stops both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication


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


def serve(folder: Path, host: str, port: int, workers: int, with_worker: bool = True) -> None:
    """Serve until interrupted; the timer worker runs as a child process and stops with the server."""
    os.environ["INSUREFLOW_INSTANCE"] = str(folder)
    timer_worker = None
    if with_worker:
        # Its own session: Ctrl-C reaches the server, which then stops the worker with SIGTERM at a
        # moment the worker handles (never in the middle of starting up).
        timer_worker = subprocess.Popen([sys.executable, "-m", "insureflow", "--instance", str(folder), "worker"],
                                        start_new_session=True)
    try:
        _Gunicorn(folder, {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-",
                           "graceful_timeout": 5, "timeout": 60}).run()
    finally:
        if timer_worker is not None and timer_worker.poll() is None:
            timer_worker.terminate()
            try:
                timer_worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                timer_worker.kill()
