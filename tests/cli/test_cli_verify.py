"""`insureflow verify`: every chain and every deployed file, and checkpoints saved and checked later."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, select, update

from engine.workflow.models import DeploymentFileModel, EventModel
from insureflow import instance_folder
from tests.cli.conftest import Cli
from tests.conftest import FIXTURES


def _database(run: Cli):
    return create_engine(instance_folder.load(run.folder).database_url)


def test_verify_saves_a_checkpoint_and_names_an_altered_diagram_and_a_rewritten_history(
        run: Cli, tmp_path: Path) -> None:
    run.json("deploy", str(FIXTURES / "bpmn"))
    started = run.json("start", "claim_review", "--as", "clerk")
    checkpoint = tmp_path / "checkpoint.json"
    verified = run.json("verify", "--save-checkpoint", str(checkpoint))
    assert verified["ok"] is True and verified["deployments"] == 1 and verified["deployment_problems"] == []
    saved = json.loads(checkpoint.read_text())
    assert saved["heads"][str(started["id"])]["seq"] >= 1 and saved["format"] == "insureflow-checkpoint/1"
    assert run.json("verify", "--checkpoint", str(checkpoint))["checkpoint"]["ok"] is True
    assert "ok, 1 chain heads still extended" in run("verify", "--checkpoint", str(checkpoint)).output

    db = _database(run)
    with db.begin() as conn:
        edited = DeploymentFileModel.name == "claim_review.bpmn"
        content = conn.scalar(select(DeploymentFileModel.content).where(edited))
        conn.execute(update(DeploymentFileModel).where(DeploymentFileModel.name == "claim_review.bpmn")
                     .values(content=content + b"<!-- edited -->"))
        conn.execute(update(EventModel).where(EventModel.seq == 1).values(actor="mallory"))
    db.dispose()
    failed = run("verify", "--checkpoint", str(checkpoint))
    assert failed.exit_code == 6
    assert "ALTERED deployment 1 file claim_review.bpmn: content altered after it was deployed" in failed.output
    assert f"BROKEN instance {started['id']} event #1: content altered (hash mismatch)" in failed.output
    assert "CHECKPOINT deployment 1 file claim_review.bpmn: altered since the checkpoint" in failed.output


def test_a_file_that_is_not_a_checkpoint_is_invalid_input(run: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    result = run("verify", "--checkpoint", str(bad))
    assert result.exit_code == 6 and "cannot read the checkpoint" in result.stderr
    bad.write_text("{}")
    assert "not an InsureFlow checkpoint" in run("verify", "--checkpoint", str(bad)).stderr
