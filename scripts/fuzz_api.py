"""Fuzz the served REST API with schemathesis (`make fuzz`, run by `make test` in CI; issue 13, "CI fuzzing").

    python scripts/fuzz_api.py [--examples 40] [--seed 20261207] [--keep]

A fresh instance folder with the demo data, served by gunicorn on a free loopback port, is driven by
`st run` from its own OpenAPI document — first as the admin (who may call most operations), then as a
claims clerk, then with no credentials — with a fixed seed and a bounded number of examples per
operation. Ids that exist in the demo (processes, cases, tasks, deployment files, policies, claims,
message names) are offered beside generated ones, so the operations are reached past "not found".
The run fails on any 5xx, any response whose status the document does not declare for the operation,
any body that breaks its declared schema, and any content type the document does not state. Nothing
leaves 127.0.0.1. Reports (JUnit, NDJSON) go to build/fuzz/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
# Who fuzzes, and the share of the examples each pass gets: the admin reaches the most operations, a
# clerk meets the need-to-know refusals, nobody meets the sign-in refusals.
PASSES = (("admin", 1.0), ("claims.clerk", 0.3), (None, 0.15))


def insureflow(folder: Path, *args: str) -> dict:
    """`insureflow --json …` on the fuzz instance; it must succeed."""
    done = subprocess.run([sys.executable, "-m", "insureflow", "--instance", str(folder), "--json", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"fuzz: insureflow {' '.join(args)} failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def known_ids(database: Path) -> dict[str, list[str | int]]:
    """Ids that exist in the demo instance, by kind, to mix into the generated path parameters."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        def column(sql: str) -> list[str | int]:
            return [row[0] for row in db.execute(sql) if row[0] is not None]

        return {
            "process_keys": column("SELECT DISTINCT key FROM process_definitions ORDER BY key"),
            "instance_ids": column("SELECT id FROM instances ORDER BY id"),
            "task_ids": column("SELECT id FROM human_tasks ORDER BY id"),
            "deployment_ids": column("SELECT id FROM deployments ORDER BY id"),
            "file_names": column("SELECT DISTINCT name FROM deployment_files ORDER BY name"),
            "message_names": column("SELECT DISTINCT name FROM waits WHERE kind = 'message' ORDER BY name"),
            "incident_ids": column("SELECT id FROM incidents ORDER BY id") or [1],
            "policy_numbers": column("SELECT number FROM policies ORDER BY number"),
            "claim_numbers": column("SELECT number FROM claims ORDER BY number"),
            "scenario_ids": [1, 2, 3],  # the fuzz run's own scenarios, created as it goes
        }


BINDINGS = {  # path parameter → the kind of known id offered for it
    "path.key": "process_keys", "path.instance_id": "instance_ids", "path.task_id": "task_ids",
    "path.deployment_id": "deployment_ids", "path.name": "message_names", "path.incident_id": "incident_ids",
    "path.number": "policy_numbers", "path.claim_no": "claim_numbers", "path.scenario_id": "scenario_ids",
}


def config_text(ids: dict[str, list[str | int]]) -> str:
    """schemathesis.toml: the known ids as dictionaries, offered for half of the path parameters."""
    lines = ["[dictionaries]"]
    lines += [f"{kind} = {{ values = {json.dumps(values)} }}" for kind, values in ids.items() if values]
    lines.append("\n[parameters]")
    lines += [f'"{param}" = {{ dictionary = "{kind}", probability = 0.5 }}'
              for param, kind in BINDINGS.items() if ids.get(kind)]
    # GET /api/deployments/{id}/files/{name}: `name` is a file there, a message name elsewhere
    lines.append('\n[[operations]]\ninclude-path = "/api/deployments/{deployment_id}/files/{name}"\n'
                 '[operations.parameters]\n"path.name" = { dictionary = "file_names", probability = 0.5 }')
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def served(folder: Path, port: int, log: Path) -> Iterator[str]:
    """`insureflow serve` (gunicorn, two web workers, no timer worker) until the block ends."""
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "insureflow", "--instance", str(folder), "serve",
                                   "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-worker"],
                                  stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/api/health", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"fuzz: the server did not start; see {log}")
                time.sleep(0.3)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def fuzz(base: str, config: Path, token: str | None, label: str, examples: int, seed: int, reports: Path,
         checks: str = CHECKS) -> int:
    """One `st run` pass; its exit code (0 when every check held)."""
    st = Path(sys.executable).with_name("st")
    # One schemathesis worker: with several threads, Python 3.11's ast.parse (hypothesis describing its
    # strategies) fails now and then with "AST constructor recursion depth mismatch", an error in the fuzzer.
    command = [str(st), "--config-file", str(config), "run", f"{base}/api/openapi.json", "--url", base,
               "--checks", checks, "--seed", str(seed), "--max-examples", str(examples),
               "--phases", "examples,coverage,fuzzing", "--generation-database", "none", "--workers", "1",
               "--request-timeout", "30", "--no-color", "--warnings", "off",
               "--report", "junit,ndjson", "--report-dir", str(reports),
               "--report-junit-path", str(reports / f"{label}.xml"),
               "--report-ndjson-path", str(reports / f"{label}.ndjson")]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    print(f"\n== fuzz as {label}: {examples} examples per operation, seed {seed}", flush=True)
    return subprocess.run(command, cwd=config.parent, env={**os.environ, "NO_COLOR": "1"}).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", "40")),
                        help="examples per operation for the admin pass (the others get fewer)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "20261207")))
    parser.add_argument("--reports", type=Path, default=ROOT / "build" / "fuzz")
    parser.add_argument("--checks", default=CHECKS, help="schemathesis checks (CI runs the default set)")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder and the server's log")
    options = parser.parse_args()
    options.reports.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="insureflow-fuzz-"))
    folder = work / "instance"
    insureflow(folder, "init", "--demo")
    tokens = {user: insureflow(folder, "tokens", "create", user)["token"] for user, _ in PASSES if user}
    config = work / "schemathesis.toml"
    config.write_text(config_text(known_ids(folder / "insureflow.db")), encoding="utf-8")
    log = options.reports / "server.log"
    failed: list[str] = []
    with served(folder, free_port(), log) as base:
        for user, share in PASSES:
            label = user or "anonymous"
            token = tokens.get(user) if user else None
            if fuzz(base, config, token, label, max(1, round(options.examples * share)), options.seed,
                    options.reports, options.checks) != 0:
                failed.append(label)
    tracebacks = log.read_text(encoding="utf-8", errors="replace").count("Traceback")
    if tracebacks:
        failed.append(f"{tracebacks} traceback(s) in {log}")
    if not options.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n== fuzz: {'FAILED: ' + ', '.join(failed) if failed else 'all passes clean'} "
          f"in {time.monotonic() - started:.0f} s (reports in {options.reports})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
