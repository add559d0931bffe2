"""`insureflow serve` runs gunicorn workers and the timer worker; Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from insureflow.cli import cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def _workers(supervisor: int) -> list[int]:
    return [pid for pid in _children(supervisor) if _cmdline(pid).split()[-1:] == ["worker"]]


def test_serve_answers_over_http_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    assert CliRunner().invoke(cli, ["--instance", str(folder), "init"]).exit_code == 0
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "insureflow", "--instance", str(folder), "serve", "--port",
                               str(port), "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ}, start_new_session=True)
    try:
        body = None
        for _ in range(60):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert body is not None and '"status":"ok"' in body.replace(" ", "")
        children = _children(server.pid)
        assert len(children) >= 3  # two web workers and the timer worker's supervisor
        supervisor = next(pid for pid in children if _cmdline(pid).split()[-2:] == ["worker", "--supervised"])
        for _ in range(60):  # the supervisor may still be starting its worker
            if _workers(supervisor):
                break
            time.sleep(0.5)
        (timer_worker,) = _workers(supervisor)
        os.kill(timer_worker, signal.SIGKILL)  # a timer worker that dies is started again, and said so
        for _ in range(60):
            if [pid for pid in _workers(supervisor) if pid != timer_worker]:
                break
            time.sleep(0.5)
        (restarted,) = _workers(supervisor)
        assert restarted != timer_worker
        everyone = [*children, restarted]
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert server.wait(timeout=30) == 0
        time.sleep(0.5)
        assert all(not Path(f"/proc/{pid}").exists() for pid in everyone)
        stderr = server.stderr.read()
        assert "Traceback" not in stderr, stderr[-2000:]
        assert "the timer worker exited with code -9; starting it again (restart 1)" in stderr
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.stdout.close()
        server.stderr.close()
