"""The fuzz run's schemathesis configuration (scripts/fuzz_api.py): the demo's ids are offered for the path
parameters they name, as valid TOML schemathesis loads."""

from __future__ import annotations

import tomllib
from pathlib import Path

from scripts.fuzz_api import BINDINGS, config_text

IDS: dict[str, list[str | int]] = {
    "process_keys": ["claims", "sales"], "instance_ids": [1, 2], "task_ids": [3], "deployment_ids": [1],
    "file_names": ["claims.bpmn", "forms/x.json"], "message_names": ["cancel_policy"], "incident_ids": [1],
    "policy_numbers": ["PDEMO0001"], "claim_numbers": [], "scenario_ids": [1, 2, 3],
}


def test_known_ids_are_offered_for_half_of_the_path_parameters_they_name() -> None:
    config = tomllib.loads(config_text(IDS))
    assert config["dictionaries"]["instance_ids"]["values"] == [1, 2]
    assert config["parameters"]["path.instance_id"] == {"dictionary": "instance_ids", "probability": 0.5}
    assert "claim_numbers" not in config["dictionaries"] and "path.claim_no" not in config["parameters"]
    assert set(config["parameters"]) == {p for p, kind in BINDINGS.items() if IDS[kind]}


def test_a_deployed_files_name_is_a_file_name_not_a_message_name() -> None:
    (files,) = tomllib.loads(config_text(IDS))["operations"]
    assert files["include-path"] == "/api/deployments/{deployment_id}/files/{name}"
    assert files["parameters"]["path.name"]["dictionary"] == "file_names"


def test_schemathesis_loads_the_configuration(tmp_path: Path) -> None:
    from schemathesis.config import SchemathesisConfig

    path = tmp_path / "schemathesis.toml"
    path.write_text(config_text(IDS), encoding="utf-8")
    SchemathesisConfig.from_path(str(path))  # raises on an option or binding it does not know
