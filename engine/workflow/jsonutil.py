"""One JSON encoding for everything the engine stores, hashes or hands out: numbers exact.

Money is Decimal end to end. `dumps` writes a Decimal as a JSON number with its exact digits (`29000.00`),
and `loads` reads every number that has a fraction or an exponent back as a Decimal (integers stay int), so
a value survives any number of trips through the database, the history, the API and the CLI without ever
passing through binary floating point. NaN and Infinity are refused both ways.

For JSON-native values (no Decimal) the text is the one Python's own `json` module writes with the same
options, so hashes computed before decimals were written as numbers still check out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

import simplejson

JSONDecodeError = simplejson.JSONDecodeError  # what `loads` raises on malformed text (a ValueError)
_OPTIONS: dict[str, Any] = {"use_decimal": True, "allow_nan": False, "namedtuple_as_object": False,
                            "ensure_ascii": False}


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, UUID):
        return str(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=repr)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def dumps(obj: Any, *, indent: int | None = None, sort_keys: bool = False,
          separators: tuple[str, str] | None = None, default: Callable[[Any], Any] = _default) -> str:
    """JSON text with decimals as exact numbers, dates as ISO text (or as `default` says), UTF-8 kept as is;
    ValueError on NaN and Infinity."""
    return simplejson.dumps(obj, indent=indent, sort_keys=sort_keys, separators=separators, default=default,
                            **_OPTIONS)


def canonical_dumps(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text kept as is, decimals as exact numbers."""
    return simplejson.dumps(obj, sort_keys=True, separators=(",", ":"), default=_default, **_OPTIONS)


def loads(text: str | bytes) -> Any:
    """JSON text back to values: numbers with a fraction or exponent as Decimal; NaN/Infinity refused
    (simplejson.JSONDecodeError, a ValueError)."""
    return simplejson.loads(text, use_decimal=True)


def to_plain(obj: Any) -> Any:
    """`obj` as plain JSON values: dates become ISO text, decimals stay Decimal."""
    return loads(canonical_dumps(obj))
