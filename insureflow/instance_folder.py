"""The instance folder: configuration, database and keys of one InsureFlow installation."""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from engine.workflow import audit_keys, checkpoints

CONFIG_NAME = "insureflow.toml"
DEFAULT_FOLDER = "instance"


class InstanceFolderError(Exception):
    """The instance folder is missing or unreadable."""


@dataclass
class InstanceConfig:
    """What `insureflow.toml` holds."""

    path: Path
    database_url: str
    handler_modules: list[str] = field(default_factory=list)
    engine: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, Any] = field(default_factory=dict)
    gateway: dict[str, Any] = field(default_factory=dict)
    web: dict[str, Any] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)

    @property
    def secret_key_file(self) -> Path:
        """The key that signs web sessions."""
        return self.path / "keys" / "secret.key"

    @property
    def data_key_file(self) -> Path:
        """The key that encrypts personal data."""
        return self.path / "keys" / "data.key"

    @property
    def keys_folder(self) -> Path:
        """The keys: web sessions, personal data, the audit key ring, the checkpoint signing key."""
        return self.path / "keys"

    @property
    def checkpoints_folder(self) -> Path:
        """Where the worker writes its signed checkpoints (append-only)."""
        return self.path / "checkpoints"

    @property
    def gateway_ledger_file(self) -> Path:
        """Where the simulated payment gateway books its payments."""
        return self.path / "gateway-ledger.db"


def resolve(path: str | os.PathLike[str] | None) -> Path:
    """The folder named by --instance, INSUREFLOW_INSTANCE, or ./instance."""
    chosen = path or os.environ.get("INSUREFLOW_INSTANCE") or DEFAULT_FOLDER
    return Path(chosen).expanduser().resolve()


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def create(folder: Path, database_url: str | None = None) -> InstanceConfig:
    """Create the folder with configuration and fresh keys; existing files are kept."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)  # the database, the ledger and the keys live here: the owner's alone
    keys = folder / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    config_file = folder / CONFIG_NAME
    if not config_file.exists():
        url = database_url or f"sqlite:///{folder / 'insureflow.db'}"
        config_file.write_text(
            "# InsureFlow instance configuration\n"
            f"database_url = {_toml_value(url)}\n"
            "# Extra modules whose register(registry) adds service-task handlers\n"
            "handler_modules = []\n\n"
            "[engine]\n"
            "# incident_max_retries = 3\n"
            "# incident_backoff_seconds = 30\n"
            "# payments: the longest a call to the bank may take (at most 30), and how long after a payment's\n"
            "# intent the worker takes it over from a process that died before settling it (longer than that)\n"
            "# effect_timeout_seconds = 20\n"
            "# effect_grace_seconds = 45\n"
            "# max_file_bytes = 2000000\n"
            "# per process (each web worker, each timer worker): cases kept deserialized, parsed deployments, and\n"
            "# PostgreSQL connections kept open plus how many more it may open under load\n"
            "# workflow_cache_size = 256\n"
            "# spec_cache_size = 64\n"
            "# database_pool_size = 5\n"
            "# database_max_overflow = 10\n\n"
            "[documents]\n"
            "# the largest claim document an upload may hold (a form may only lower it)\n"
            "# max_file_bytes = 10485760\n\n"
            "[gateway]\n"
            "# the payment gateway: \"simulated\" (the only one so far) books payments in gateway-ledger.db here\n"
            "# kind = \"simulated\"\n"
            "# faults for tests and demos, the simulated gateway only: the chance of each on a new payment\n"
            "# faults = { decline = 0.05, timeout = 0.05, accept_then_timeout = 0.05, crash_after_accept = 0.02 }\n"
            "# seed = 20261204\n"
            "# what the simulated bank's account-name check knows: account = holder's name\n"
            "# account_names = { \"6222020200155667788\" = \"Li Na\" }\n\n"
            "[web]\n"
            "# behind HTTPS: mark the session cookies Secure and send HSTS\n"
            "# secure_cookies = false\n"
            "# behind N reverse proxies: trust their X-Forwarded-For/-Proto/-Host headers\n"
            "# trusted_proxies = 0\n"
            "# the number the claim-status page gives a claimant locked out after too many wrong access codes\n"
            "# customer_hotline = \"400-000-0000\"\n"
            "# the time zone staff read every time in (IANA name)\n"
            "# timezone = \"Asia/Shanghai\"\n\n"
            "[audit]\n"
            "# the worker signs a checkpoint of every chain head into checkpoints/ this often (and at shutdown)\n"
            "# checkpoint_minutes = 10\n"
            "# ship each new checkpoint elsewhere: copy it into a folder, and/or run a command with its path last\n"
            "# checkpoint_ship_folder = \"/mnt/audit-share/insureflow\"\n"
            "# checkpoint_ship_command = \"/usr/local/bin/ship-checkpoint\"\n",
            encoding="utf-8",
        )
    for key_file, make in ((keys / "secret.key", lambda: secrets.token_hex(32).encode()),
                           (keys / "data.key", Fernet.generate_key)):
        if not key_file.exists():
            key_file.write_bytes(make())
            key_file.chmod(0o600)
    audit_keys.load(keys)  # the audit key ring and the checkpoint signing key, kept apart from the data key
    checkpoints.load_signing_key(keys)
    return load(folder)


def load(folder: Path) -> InstanceConfig:
    """Read the folder's configuration."""
    config_file = folder / CONFIG_NAME
    if not config_file.exists():
        raise InstanceFolderError(f"{folder} is not an InsureFlow instance folder (run `insureflow init`)")
    try:
        raw = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InstanceFolderError(f"{config_file}: {exc}") from exc
    url = os.environ.get("INSUREFLOW_DATABASE_URL") or raw.get("database_url")
    if not url:
        raise InstanceFolderError(f"{config_file} names no database_url")
    return InstanceConfig(folder, url, list(raw.get("handler_modules", [])), dict(raw.get("engine", {})),
                          dict(raw.get("documents", {})), dict(raw.get("gateway", {})), dict(raw.get("web", {})),
                          dict(raw.get("audit", {})))
