"""The audit key ring: the HMAC-SHA256 keys that chain the history, seal the stored states and the money rows.

Kept apart from the data key and never in the database, so that write access to the database is not enough to
forge an event. The current key is `keys/audit.key` in the instance folder (64 hex digits, file 0600); every key
ever used, the current one included, is also kept in `keys/audit-keyring/<id>.key`, so events chained under a
retired key still verify after a rotation. A key's id is derived from the key itself (a fingerprint), and each
event records the id it was chained with.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from .database import write_private

CURRENT_NAME = "audit.key"
RING_NAME = "audit-keyring"
# In the ring folder: the id of the last event written before the keyed chain began (0 on a new installation).
# Every later event must be keyed, so a chain rewritten by the old, unkeyed rule is refused even where no
# signed checkpoint covers it yet.
SWITCH_OVER_NAME = "switch-over.json"


class AuditKeyError(Exception):
    """The audit key ring is missing or unreadable."""


def key_id(key: bytes) -> str:
    """A key's public fingerprint: what an event records to name the key it was chained with."""
    return hashlib.sha256(b"insureflow-audit-key-id:" + key).hexdigest()[:12]


@dataclass(frozen=True)
class AuditKeys:
    """Loaded once per runtime: the key new events are chained with, and every key old events may name."""

    current: str
    keys: dict[str, bytes] = field(repr=False)
    # The last event id that may be chained by the legacy rule (None: not recorded, e.g. tests' in-memory rings).
    legacy_until: int | None = None

    @classmethod
    def of(cls, *keys: bytes) -> AuditKeys:
        """A ring whose last key is the current one (tests, tools)."""
        ring = {key_id(k): k for k in keys}
        return cls(key_id(keys[-1]), ring)

    def mac(self, data: bytes, kid: str | None = None) -> str:
        """HMAC-SHA256 of `data` under key `kid` (default: the current key), as hex; KeyError for a key not
        in the ring."""
        return hmac.new(self.keys[kid or self.current], data, hashlib.sha256).hexdigest()

    def seal(self, data: bytes) -> str:
        """`<key id>:<mac>` under the current key: a self-describing keyed hash to record."""
        return f"{self.current}:{self.mac(data)}"

    def check(self, data: bytes, sealed: str) -> bool | None:
        """Whether `sealed` (`<key id>:<mac>`) is the keyed hash of `data`; None when the key is not in the ring."""
        kid, _, digest = sealed.partition(":")
        if kid not in self.keys:
            return None
        return hmac.compare_digest(self.mac(data, kid), digest)



def _read_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        raise AuditKeyError(f"cannot read the audit key {path}: {exc}") from exc
    if len(key) < 32:
        raise AuditKeyError(f"the audit key {path} is too short (64 hex digits expected)")
    return key


def load(keys_folder: Path, *, create: bool = True) -> AuditKeys:
    """The ring of an instance's keys folder; the first key is made (0600) when there is none yet."""
    current_file, ring = keys_folder / CURRENT_NAME, keys_folder / RING_NAME
    if not current_file.exists():
        if not create:
            raise AuditKeyError(f"there is no audit key {current_file}")
        keys_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            write_private(current_file, secrets.token_hex(32).encode())
    current = _read_key(current_file)
    keys = {}
    if ring.is_dir():
        for path in sorted(ring.glob("*.key")):
            key = _read_key(path)
            keys[key_id(key)] = key
    kid = key_id(current)
    if kid not in keys:  # keep every key in the ring, so that a rotation never loses one
        ring.mkdir(mode=0o700, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            write_private(ring / f"{kid}.key", current.hex().encode())
        keys[kid] = current
    return AuditKeys(kid, keys, _switch_over(ring / SWITCH_OVER_NAME))


def _switch_over(path: Path) -> int | None:
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))["last_unkeyed_event_id"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AuditKeyError(f"cannot read the switch-over record {path}: {exc}") from exc
    if not isinstance(value, int) or value < 0:
        raise AuditKeyError(f"the switch-over record {path} holds no event id")
    return value


def record_switch_over(keys_folder: Path, last_unkeyed_event_id: int, at: str) -> None:
    """Record, once, the last event written before the keyed chain began (the highest event id at the first
    start with an audit key); a record already there is kept."""
    ring = keys_folder / RING_NAME
    ring.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps({"last_unkeyed_event_id": last_unkeyed_event_id, "recorded_at": at})
    with contextlib.suppress(FileExistsError):
        write_private(ring / SWITCH_OVER_NAME, text.encode("utf-8"))


def rotate(keys_folder: Path) -> tuple[str, str]:
    """Make a new current key; the old one stays in the ring. Returns (old id, new id)."""
    old = load(keys_folder)
    new = secrets.token_bytes(32)
    ring = keys_folder / RING_NAME
    write_private(ring / f"{key_id(new)}.key", new.hex().encode())
    staged = keys_folder / f"{CURRENT_NAME}.new"
    staged.unlink(missing_ok=True)
    write_private(staged, new.hex().encode())
    os.replace(staged, keys_folder / CURRENT_NAME)  # atomic: a reader sees the old key or the new one
    return old.current, key_id(new)
