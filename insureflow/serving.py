"""`insureflow serve`: gunicorn with several workers for the web app, and the timer worker beside it;
Ctrl-C stops both."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
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


class TimerWorker:
    """The timer worker as a child process, started again (and said so) whenever it dies, as gunicorn
    does for its web workers: a worker killed mid-step (a crash, the OOM killer) must not silently stop
    every timer and retry."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # a restart and a stop never interleave: no worker outlives the server
        self._watcher = threading.Thread(target=self._watch, name="timer-worker-watch", daemon=True)

    def start(self) -> None:
        """Start the worker and watch it."""
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        # Its own session: Ctrl-C reaches the server, which then stops the worker with SIGTERM at a
        # moment the worker handles (never in the middle of starting up).
        self.process = subprocess.Popen([sys.executable, "-m", "insureflow", "--instance", str(self.folder),
                                         "worker"], start_new_session=True)

    def _watch(self) -> None:
        while self.process is not None:
            code = self.process.wait()
            if self._stopping.wait(RESTART_DELAY_SECONDS):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.restarts += 1
                print(f"insureflow serve: the timer worker exited with code {code}; starting it again "
                      f"(restart {self.restarts})", file=sys.stderr, flush=True)
                self._spawn()

    def stop(self) -> None:
        """Stop watching, then stop the worker (SIGTERM, then SIGKILL after 10 s)."""
        with self._lock:
            self._stopping.set()
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


RESTART_DELAY_SECONDS = 1.0


def serve(folder: Path, host: str, port: int, workers: int, with_worker: bool = True) -> None:
    """Serve until interrupted; the timer worker runs as a child process, is started again when it dies,
    and stops with the server."""
    os.environ["INSUREFLOW_INSTANCE"] = str(folder)
    timer_worker = TimerWorker(folder) if with_worker else None
    if timer_worker is not None:
        timer_worker.start()
    try:
        _Gunicorn(folder, {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-",
                           "graceful_timeout": 5, "timeout": 60}).run()
    finally:
        if timer_worker is not None:
            timer_worker.stop()
