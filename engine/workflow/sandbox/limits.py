"""The numbers the sandbox enforces: the per-call Limits, the fixed caps, and the stateless checks on them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import _BudgetExceeded


@dataclass(frozen=True)
class Limits:
    """Run-time budget of one script or expression evaluation."""

    max_steps: int = 1_000_000  # loop iterations + function calls + items drawn through _getiter_
    max_seconds: float = 2.0  # wall clock, checked by the step counter
    max_power_exponent: int = 10_000  # int ** int
    max_int_bits: int = 10_000  # int results of ** * <<; int<->Decimal conversion is quadratic in size
    max_sequence_len: int = 1_000_000  # str/bytes/list/tuple built by * + join, padding, range(), ...


# Fixed caps, the same for every call: they guard C code that no step counter can interrupt.
_MAX_FORMAT_WIDTH = 10_000  # widths/precisions in f-strings and %-formatting
_MAX_DECIMAL_DIGITS = 5_000  # Decimal exponents beyond this are not expanded into digits
_MAX_SOURCE_LEN = 100_000


def _too_wide(numbers: Iterable[str]) -> bool:
    return any(n == "*" or (n.isdigit() and int(n) > _MAX_FORMAT_WIDTH) for n in numbers)


def _check_decimal(value: Any) -> None:
    # int(Decimal("1e999999")) runs ~40 s in C; f"{Decimal('1e999999999'):f}" writes a billion digits.
    if isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) > _MAX_DECIMAL_DIGITS:
        raise _BudgetExceeded(f"a Decimal beyond 1E±{_MAX_DECIMAL_DIGITS} cannot be converted or formatted")
