"""Personal data masked on screens and in API answers for the roles that do not need it."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from tasks.crypto import is_personal

# The roles whose work needs the personal data in clear: they identify, contact or pay the customer.
CLEAR_ROLES = frozenset({
    "agent", "compliance", "underwriter", "senior_underwriter", "claims_clerk", "siu", "finance",
})
MASK = "••••"
# Free text under a personal name (a health declaration) keeps nothing: its last characters say too much.
_FULLY_MASKED = ("health_declaration",)


def sees_personal_data(roles: Collection[str]) -> bool:
    """Whether someone holding `roles` is shown personal data in clear."""
    return any(role in CLEAR_ROLES for role in roles)


def mask_value(value: str, *, keep: int = 4) -> str:
    """'••••' and the last `keep` characters; a value that short is masked whole."""
    return MASK + value[-keep:] if len(value) > keep else MASK


def shows_clear(roles: Collection[str], holder: bool) -> bool:
    """Whether personal data is shown in clear: to someone holding a task of the case now (engine/workflow/access.py
    decides `holder`) whose role needs it; anyone else reveals it through the logged unmask."""
    return holder and sees_personal_data(roles)


def mask(data: Any, clear: bool) -> Any:
    """`data` with every personal field masked, unless it is shown in `clear` (nested dicts and lists too)."""
    if not isinstance(clear, bool):  # a set of roles is not an answer: who sees what is decided before
        raise TypeError(f"mask() takes whether the data is shown in clear, not {type(clear).__name__}")
    return data if clear else _walk(data)


def _walk(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: (_masked(v, keep=0 if k.endswith(_FULLY_MASKED) else 4)
                    if isinstance(k, str) and is_personal(k) else _walk(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [_walk(v) for v in data]
    return data


def _masked(value: Any, *, keep: int) -> Any:
    # Personal data is text; a flag or an amount under such a name (shared_account: true) is not.
    if isinstance(value, str):
        return mask_value(value, keep=keep) if keep else MASK
    if isinstance(value, list):
        return [_masked(v, keep=keep) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v, keep=keep) for k, v in value.items()}
    return value
