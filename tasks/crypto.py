"""Personal data protection: field encryption (Fernet), keyed look-up hashes, and the protection of
process data wherever the engine stores it (workflow state, history, messages)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unicodedata
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Process-data fields that hold personal data, by name or by suffix (forms and diagrams follow this).
# A claimant's access code (tasks/claim_access.py) and a one-time code texted to a customer (and the code read
# back) are secrets of the same kind: the outbox and the history keep them encrypted.
PERSONAL_FIELDS = frozenset({"id_number", "phone", "bank_account", "payee_account", "health_declaration",
                             "access_code", "one_time_code", "confirmation_code"})
PERSONAL_SUFFIXES = ("_id_number", "_phone", "_account", "_health_declaration")
_SEALED = "enc:"
# A Fernet token starts with its version byte 0x80, which base64 writes as "g".
_FERNET_BASE64_START = b"g"


class PersonalDataError(Exception):
    """Encrypted data could not be read with this key."""


def is_personal(field: str) -> bool:
    """Whether a process-data field holds personal data."""
    return field in PERSONAL_FIELDS or field.endswith(PERSONAL_SUFFIXES)


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"insureflow " + purpose).derive(key)


def normalize(value: str) -> str:
    """The form a value is hashed in: NFKC, no spaces, upper case (ID numbers end in 'X' or 'x')."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


class PersonalDataCipher:
    """Encrypts fields and states with keys derived from the instance's data key."""

    def __init__(self, data_key: bytes):
        master = base64.urlsafe_b64decode(data_key)
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"fields")))
        self._state = Fernet(base64.urlsafe_b64encode(_derive(master, b"state")))
        self._hmac_key = _derive(master, b"lookup")

    def encrypt(self, value: str) -> bytes:
        """Ciphertext of one value."""
        return self._fernet.encrypt(value.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        """The value behind a ciphertext."""
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken as exc:
            raise PersonalDataError("personal data cannot be decrypted with this instance's key") from exc

    def encrypt_bytes(self, content: bytes) -> bytes:
        """Ciphertext of a file's bytes, kept raw (no base64): as large as the file plus ~60 bytes."""
        return base64.urlsafe_b64decode(self._fernet.encrypt(content))

    def decrypt_bytes(self, sealed: bytes) -> bytes:
        """The bytes behind `encrypt_bytes`."""
        try:
            return self._fernet.decrypt(base64.urlsafe_b64encode(sealed))
        except (InvalidToken, ValueError) as exc:
            raise PersonalDataError("a document cannot be decrypted with this instance's key") from exc

    def lookup_hash(self, value: str) -> str:
        """A keyed hash for finding records by value without storing the value."""
        return hmac.new(self._hmac_key, normalize(value).encode("utf-8"), hashlib.sha256).hexdigest()

    def seal(self, state: bytes) -> bytes:
        """Encrypt a stored workflow state: the Fernet token's raw bytes (a binary column needs no base64, and
        a quarter smaller keeps a finished claim's row within one database page)."""
        return base64.urlsafe_b64decode(self._state.encrypt(state))

    def unseal(self, sealed: bytes) -> bytes:
        """Decrypt a stored workflow state (raw, or base64 as stored before)."""
        token = sealed if sealed[:1] == _FERNET_BASE64_START else base64.urlsafe_b64encode(sealed)
        try:
            return self._state.decrypt(token)
        except (InvalidToken, ValueError) as exc:
            raise PersonalDataError("workflow state cannot be decrypted with this instance's key") from exc

    def protect(self, _kind: str, payload: Any) -> Any:
        """Encrypt every personal field in a payload (nested dicts and lists too)."""
        return self._walk(payload, self._seal_value)

    def reveal(self, _kind: str, payload: Any) -> Any:
        """Undo `protect`."""
        return self._walk(payload, self._open_value)

    def _seal_value(self, value: Any) -> Any:
        # Personal data is text; a flag or a number under such a name (shared_account: true) is not.
        if not isinstance(value, str) or value.startswith(_SEALED):
            return value
        return _SEALED + self.encrypt(json.dumps(value, ensure_ascii=False)).decode("ascii")

    def _open_value(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(_SEALED):
            return json.loads(self.decrypt(value[len(_SEALED):].encode("ascii")))
        return value

    def _walk(self, payload: Any, on_personal: Any) -> Any:
        if isinstance(payload, dict):
            return {k: (self._walk_personal(v, on_personal) if isinstance(k, str) and is_personal(k)
                        else self._walk(v, on_personal)) for k, v in payload.items()}
        if isinstance(payload, list):
            return [self._walk(v, on_personal) for v in payload]
        return payload

    def _walk_personal(self, value: Any, on_personal: Any) -> Any:
        if isinstance(value, list):
            return [self._walk_personal(v, on_personal) for v in value]
        if isinstance(value, dict):
            return {k: self._walk_personal(v, on_personal) for k, v in value.items()}
        return on_personal(value)
