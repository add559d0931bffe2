"""`insureflow claim-code NUMBER`: staff re-send a claim's acknowledgement with a fresh access code (the code
itself is never printed; tests/bpmn/test_claimant_access.py covers the re-issue)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from insureflow.cli import cli


def test_an_unknown_claim_number_is_refused_with_exit_3(tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    assert CliRunner().invoke(cli, ["--instance", str(folder), "init"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--instance", str(folder), "claim-code", "C1"])
    assert result.exit_code == 3 and "no claim C1" in result.stderr


def test_the_command_is_listed_in_the_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "claim-code" in result.stdout
