"""Settings an operator gives an instance in insureflow.toml: the largest claim document, the payment timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from insureflow import instance_folder
from insureflow.bootstrap import build_services
from insureflow.instance_folder import InstanceFolderError
from tasks.documents import MAX_DOCUMENT_BYTES
from webui import create_app
from webui.forms_render import fields


def _folder(tmp_path: Path, documents: str = "") -> instance_folder.InstanceConfig:
    folder = tmp_path / "instance"
    instance_folder.create(folder, f"sqlite:///{tmp_path / 'x.db'}")
    if documents:
        config = folder / instance_folder.CONFIG_NAME
        config.write_text(config.read_text(encoding="utf-8").replace("[documents]\n", f"[documents]\n{documents}\n"),
                          encoding="utf-8")
    return instance_folder.load(folder)


def test_a_new_instance_documents_the_setting_and_takes_the_default(tmp_path: Path) -> None:
    config = _folder(tmp_path)
    assert "# max_file_bytes = 10485760" in (config.path / instance_folder.CONFIG_NAME).read_text(encoding="utf-8")
    assert build_services(config).max_document_bytes == MAX_DOCUMENT_BYTES


def test_an_instance_may_lower_or_raise_the_largest_document(tmp_path: Path) -> None:
    services = build_services(_folder(tmp_path, "max_file_bytes = 30000000"))
    assert services.max_document_bytes == 30_000_000
    upload = {"type": "object", "properties": {"files": {
        "type": "array", "items": {"type": "object"}, "x-upload": {"accept": ["application/pdf"]}}}}
    assert fields(upload, {}, {}, "en", services.max_document_bytes)[0].attrs["max_bytes"] == 30_000_000


@pytest.mark.parametrize("value", ["0", "-5", '"10MB"', "true"])
def test_a_wrong_setting_is_named_when_the_instance_starts(tmp_path: Path, value: str) -> None:
    with pytest.raises(InstanceFolderError, match=r"\[documents\] max_file_bytes must be a positive whole number"):
        build_services(_folder(tmp_path, f"max_file_bytes = {value}"))


def test_requests_may_carry_a_document_of_the_largest_size(tmp_path: Path) -> None:
    from insureflow.bootstrap import build_app

    wired = build_app(_folder(tmp_path, "max_file_bytes = 40000000"))
    try:
        assert create_app(wired, {"TESTING": True}).config["MAX_CONTENT_LENGTH"] > 40_000_000
    finally:
        wired.db.dispose()


# --- payments: the time a call to the bank may take --------------------------------------------------

def test_a_new_instance_documents_the_payment_timeouts_and_takes_the_defaults(tmp_path: Path) -> None:
    from insureflow.bootstrap import WEB_WORKER_TIMEOUT, build_settings

    text = (_folder(tmp_path).path / instance_folder.CONFIG_NAME).read_text(encoding="utf-8")
    assert "# effect_timeout_seconds = 20" in text and "# effect_grace_seconds = 45" in text
    settings = build_settings({})
    assert settings.effect_timeout_seconds < settings.effect_grace_seconds
    assert settings.effect_timeout_seconds <= WEB_WORKER_TIMEOUT / 2  # well below gunicorn's worker timeout


@pytest.mark.parametrize(("engine", "complaint"), [
    ({"effect_timeout_seconds": 0}, "effect_timeout_seconds must be above 0 and at most 30"),
    ({"effect_timeout_seconds": 59}, "effect_timeout_seconds must be above 0 and at most 30"),
    ({"effect_grace_seconds": 10}, r"effect_grace_seconds \(10\) must be longer than effect_timeout_seconds \(20"),
    ({"effect_timeout_seconds": 5, "effect_grace_seconds": 5}, "must not take over a call still being made"),
])
def test_payment_timeouts_that_do_not_fit_are_refused_when_the_instance_starts(engine: dict, complaint: str) -> None:
    from insureflow.bootstrap import build_settings

    with pytest.raises(InstanceFolderError, match=complaint):
        build_settings(engine)


# --- caches and connections per process ----------------------------------------------------------------

def test_the_cache_and_pool_sizes_are_documented_and_reach_the_runtime_and_the_pool(tmp_path: Path) -> None:
    from insureflow.bootstrap import build_app

    config = _folder(tmp_path)
    text = (config.path / instance_folder.CONFIG_NAME).read_text(encoding="utf-8")
    assert "# workflow_cache_size = 256" in text and "# database_pool_size = 5" in text
    config.engine = {"workflow_cache_size": 3, "spec_cache_size": 2}
    wired = build_app(config)
    try:
        assert wired.runtime.workflows.stats()["capacity"] == 3
    finally:
        wired.db.dispose()


@pytest.mark.parametrize("engine", [{"workflow_cache_size": -1}, {"spec_cache_size": 0},
                                    {"database_pool_size": 0}, {"database_max_overflow": "10"},
                                    {"workflow_cache_size": True}])
def test_cache_and_pool_sizes_that_make_no_sense_are_refused_when_the_instance_starts(engine: dict) -> None:
    from insureflow.bootstrap import build_settings

    with pytest.raises(InstanceFolderError, match=f"{next(iter(engine))} must be a whole number of at least"):
        build_settings(engine)


# --- files: the owner's alone -----------------------------------------------------------------------------

def test_the_instance_folder_database_ledger_and_keys_are_the_owners_alone(tmp_path: Path) -> None:
    import stat

    from insureflow.bootstrap import build_app

    config = _folder(tmp_path)
    config = instance_folder.load(config.path)
    wired = build_app(instance_folder.InstanceConfig(config.path, f"sqlite:///{config.path / 'insureflow.db'}"))
    try:
        with wired.db.connect():
            pass
    finally:
        wired.db.dispose()
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(config.path) == 0o700 and mode(config.path / "keys") == 0o700
    for name in ("insureflow.db", "gateway-ledger.db", "keys/data.key", "keys/secret.key"):
        assert mode(config.path / name) == 0o600, name
