"""Signed checkpoints: every chain's head and the deployments' digest, signed with Ed25519 and written by the
worker to an append-only folder — like Certificate Transparency's signed tree heads (RFC 6962) or Amazon QLDB's
digests. A history rewritten later, however consistently rehashed, no longer extends the heads a checkpoint
signed; `verify` checks the latest one automatically.

Files: `keys/checkpoint_ed25519.key` (the private key, PKCS#8 PEM, 0600) and `keys/checkpoint_ed25519.pub`
(the public key to give the auditors); `<instance>/checkpoints/` (0700) gets one new file per checkpoint
(0600, created exclusively, never overwritten), named by its UTC time so that names sort in time order. Each
new file can be shipped elsewhere: copied into a folder (another disk, a mounted share) and/or handed to a
command (e.g. an upload to WORM storage) as its last argument.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import secrets
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .database import write_private
from .jsonutil import canonical_dumps

log = logging.getLogger(__name__)

PRIVATE_NAME = "checkpoint_ed25519.key"
PUBLIC_NAME = "checkpoint_ed25519.pub"
SIGNED_FORMAT = "insureflow-signed-checkpoint/1"


class CheckpointStoreError(Exception):
    """The checkpoint keys or folder cannot be used."""



def load_signing_key(keys_folder: Path, *, create: bool = True) -> Ed25519PrivateKey | None:
    """The installation's checkpoint signing key, made (0600, public key exported beside it) when missing."""
    private, public = keys_folder / PRIVATE_NAME, keys_folder / PUBLIC_NAME
    if not private.exists():
        if not create:
            return None
        keys_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        with contextlib.suppress(FileExistsError):
            write_private(private, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    try:
        loaded = serialization.load_pem_private_key(private.read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise CheckpointStoreError(f"cannot read the checkpoint key {private}: {exc}") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise CheckpointStoreError(f"{private} is not an Ed25519 key")
    if not public.exists():
        with contextlib.suppress(FileExistsError):
            write_private(public, loaded.public_key().public_bytes(serialization.Encoding.PEM,
                                                                       serialization.PublicFormat.SubjectPublicKeyInfo))
    return loaded


def load_public_key(path: Path) -> Ed25519PublicKey | None:
    """The public key that checks the checkpoints (None when there is none)."""
    if not path.exists():
        return None
    loaded = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(loaded, Ed25519PublicKey):
        raise CheckpointStoreError(f"{path} is not an Ed25519 public key")
    return loaded


def _signed_bytes(body: dict[str, Any]) -> bytes:
    return canonical_dumps(body).encode("utf-8")


@dataclass(frozen=True)
class LatestCheckpoint:
    """The newest checkpoint file and what its signature says: `body` is the checkpoint proper (heads,
    deployments, digest); `problem` is set when the file cannot be trusted."""

    path: Path
    body: dict[str, Any] | None
    problem: str | None

    @property
    def trusted(self) -> bool:
        """Whether the file's signature verifies under the installation's public key."""
        return self.problem is None and self.body is not None


@dataclass
class CheckpointStore:
    """Where checkpoints are written and read; the worker's signing key; where new ones are shipped."""

    folder: Path
    public_key_file: Path
    signing_key: Ed25519PrivateKey | None = None
    interval_minutes: float = 10.0
    ship_folder: Path | None = None
    ship_command: str | None = None
    _public: Ed25519PublicKey | None = field(default=None, repr=False)
    _last_written: float | None = field(default=None, repr=False)  # wall-clock time of the newest file

    def due(self) -> bool:
        """Whether `interval_minutes` have passed since the newest checkpoint (or there is none)."""
        if self._last_written is None:
            files = sorted(self.folder.glob("checkpoint-*.json")) if self.folder.is_dir() else []
            self._last_written = files[-1].stat().st_mtime if files else 0.0
        return time.time() - self._last_written >= self.interval_minutes * 60

    def public_key(self) -> Ed25519PublicKey | None:
        """The key that checks signatures (the signing key's own, or the exported public key file)."""
        if self._public is None:
            self._public = (self.signing_key.public_key() if self.signing_key is not None
                            else load_public_key(self.public_key_file))
        return self._public

    def write(self, body: dict[str, Any], now: datetime) -> Path:
        """Sign `body` and write it as a new file (never overwriting one); then ship it."""
        if self.signing_key is None:
            raise CheckpointStoreError("this runtime has no checkpoint signing key")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        signature = base64.b64encode(self.signing_key.sign(_signed_bytes(body))).decode("ascii")
        document = {"format": SIGNED_FORMAT, "checkpoint": body, "signature": signature}
        content = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
        stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
        while True:
            path = self.folder / f"checkpoint-{stamp}-{secrets.token_hex(3)}.json"
            try:
                write_private(path, content)
                break
            except FileExistsError:
                continue
        self._last_written = time.time()
        self._ship(path)
        return path

    def _ship(self, path: Path) -> None:
        """Copy the new file to the ship folder and/or hand it to the ship command; a failure is logged (the
        local file stays, and the next checkpoint is shipped again)."""
        if self.ship_folder is not None:
            try:
                self.ship_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                write_private(self.ship_folder / path.name, path.read_bytes())
            except OSError as exc:
                log.error("could not ship checkpoint %s to %s: %s", path.name, self.ship_folder, exc)
        if self.ship_command:
            try:
                subprocess.run([*shlex.split(self.ship_command), str(path)], check=True, timeout=60,
                               capture_output=True)
            except (OSError, subprocess.SubprocessError) as exc:
                log.error("could not ship checkpoint %s with %r: %s", path.name, self.ship_command, exc)

    def latest(self) -> LatestCheckpoint | None:
        """The newest checkpoint file, its signature checked; None when there is none yet."""
        if not self.folder.is_dir():
            return None
        files = sorted(self.folder.glob("checkpoint-*.json"))
        if not files:
            return None
        path = files[-1]
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            body, signature = document["checkpoint"], base64.b64decode(document["signature"], validate=True)
            if document.get("format") != SIGNED_FORMAT or not isinstance(body, dict):
                raise ValueError(f"format must be {SIGNED_FORMAT!r}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return LatestCheckpoint(path, None, f"the file cannot be read as a signed checkpoint ({exc})")
        public = self.public_key()
        if public is None:
            return LatestCheckpoint(path, body, f"there is no public key {self.public_key_file} to check it with")
        try:
            public.verify(signature, _signed_bytes(body))
        except InvalidSignature:
            return LatestCheckpoint(path, body, "its signature does not verify: the file was altered, or it was "
                                                "not written by this installation")
        return LatestCheckpoint(path, body, None)
