"""A real instance folder driven through the `insureflow` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from insureflow.cli import cli
from tests.conftest import FIXTURES, ROOT


@dataclass
class Cli:
    """Runs `insureflow --instance DIR …` in-process (fast) or as a real process."""

    folder: Path
    env: dict[str, str]

    def __call__(self, *args: str, json_out: bool = False) -> Result:
        runner = CliRunner()
        argv = ["--instance", str(self.folder)] + (["--json"] if json_out else []) + list(args)
        return runner.invoke(cli, argv, env=self.env, catch_exceptions=False)

    def json(self, *args: str) -> object:
        """Run with --json, expect success, return the parsed output."""
        result = self(*args, json_out=True)
        assert result.exit_code == 0, result.output + result.stderr
        return json.loads(result.stdout)

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """Start the real console script as its own process."""
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "insureflow"), "--instance", str(self.folder), *args],
            env={**os.environ, **self.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def run(db_url: str, tmp_path: Path) -> Cli:
    """An initialised instance folder on the test database, with the fixture handlers and users."""
    env = {"INSUREFLOW_FIXTURE_CONTROL": str(tmp_path), "PYTHONPATH": str(ROOT)}
    tool = Cli(tmp_path / "instance", env)
    result = tool("init", "--database-url", db_url)
    assert result.exit_code == 0, result.output
    config = tool.folder / "insureflow.toml"
    config.write_text(config.read_text().replace("handler_modules = []",
                                                 'handler_modules = ["tests.fixtures.handlers"]'))
    for name, roles in {"clerk": ["claims_clerk"], "adj": ["adjuster"], "mgr": ["claims_manager", "adjuster"],
                        "boss": ["claims_manager"]}.items():
        args = ["users", "add", name]
        for role in roles:
            args += ["--role", role]
        assert tool(*args).exit_code == 0
    return tool


@pytest.fixture
def deployed_cli(run: Cli) -> Cli:
    """The CLI instance with the claim-review fixture deployed."""
    assert run("deploy", str(FIXTURES / "bpmn")).exit_code == 0
    return run
