"""Run time: the per-call step/time/size budget and the guard functions the compiled code calls."""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, NoReturn

from RestrictedPython import PrintCollector
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
    safer_getattr_raise,
)

from .errors import _BudgetExceeded
from .limits import _MAX_FORMAT_WIDTH, Limits, _check_decimal, _too_wide
from .script_builtins import _BUILTINS

_CHECK_EVERY = 128  # steps between clock reads: a step may be a C-level op on a 1M-item list
_SEQUENCES = (str, bytes, list, tuple)
_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": lambda a, b: exact_division(a, b),
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand,
    "@=": operator.imatmul,
}
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d*)(?:\.(\*|\d*))?")
# Methods whose output size C computes from an argument: checked before the call (see _Budget.sized).
_SIZED_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "join", "replace", "extend", "translate",
                            "expandtabs", "as_integer_ratio"})


def exact_division(a: Any, b: Any) -> Any:
    """`a / b` in a script: integers and Decimals divide as Decimal (money never passes through a float)."""
    if isinstance(a, int | Decimal) and isinstance(b, int | Decimal):
        _check_decimal(a)
        _check_decimal(b)
        return Decimal(a) / Decimal(b)
    return a / b


def decimal_literal(text: str) -> Decimal:
    """A number literal with a fraction or exponent (`0.8`, `1e3`) as the Decimal it reads as."""
    return Decimal(text)


def _format_guard(value: Any) -> Any:
    _check_decimal(value)
    return value


class _ListWriter:
    """Write proxy for lists: slice assignment (x[:0] = x) must not grow a list past the size limit."""

    __slots__ = ("_budget", "_target")

    def __init__(self, target: list[Any], budget: _Budget) -> None:
        self._target, self._budget = target, budget

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, slice):
            value = self._budget.items(value)
            self._budget.size(len(self._target) + len(value))
        self._target[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._target[key]


class _Budget:
    """Per-call counters and the guards bound to them (never stored with the cached code)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.steps = 0
        self.next_check = min(_CHECK_EVERY, limits.max_steps + 1)
        self.deadline = time.monotonic() + limits.max_seconds
        self.tripped: str | None = None

    def trip(self, reason: str) -> NoReturn:
        self.tripped = self.tripped or reason
        self.next_check = 0  # sticky: every later _step_ raises again
        raise _BudgetExceeded(self.tripped)

    def step(self) -> None:
        self.steps += 1
        if self.steps >= self.next_check:
            self.check()

    def check(self) -> None:
        if self.tripped:
            self.trip(self.tripped)
        if self.steps > self.limits.max_steps:
            self.trip(f"script exceeded {self.limits.max_steps} steps")
        if time.monotonic() > self.deadline:
            self.trip(f"script ran longer than {self.limits.max_seconds} s")
        self.next_check = min(self.steps + _CHECK_EVERY, self.limits.max_steps + 1)

    def getiter(self, ob: Iterable[Any]) -> Iterator[Any]:
        step = self.step
        for item in ob:
            step()
            yield item

    def items(self, iterable: Iterable[Any]) -> list[Any] | tuple[Any, ...]:
        """The items, drawn through the counter unless already a list or tuple (whose size is known)."""
        return iterable if isinstance(iterable, (list, tuple)) else list(self.getiter(iterable))

    def size(self, n: int) -> None:
        if n > self.limits.max_sequence_len:
            self.trip(f"result would have {n} items; the limit is {self.limits.max_sequence_len}")

    def bits(self, n: int) -> None:
        if n > self.limits.max_int_bits:
            self.trip(f"integer result would have about {n} bits; the limit is {self.limits.max_int_bits}")

    def check_pow(self, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int) and b > 1 and abs(a) > 1:
            if b > self.limits.max_power_exponent:
                self.trip(f"exponent {b} is above {self.limits.max_power_exponent}")
            self.bits(a.bit_length() * b)

    def check_mul(self, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int):
            self.bits(a.bit_length() + b.bit_length())
        elif isinstance(a, _SEQUENCES) and isinstance(b, int):
            self.size(len(a) * b)
        elif isinstance(b, _SEQUENCES) and isinstance(a, int):
            self.size(len(b) * a)

    def check_add(self, a: Any, b: Any) -> None:
        if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            self.size(len(a) + len(b))

    def check_lshift(self, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int) and a:
            self.bits(a.bit_length() + b)

    def check_mod(self, a: Any, b: Any) -> None:
        if isinstance(a, (str, bytes)):
            text = a.decode("latin-1") if isinstance(a, bytes) else a
            if _too_wide(n for m in _PERCENT_SPEC.finditer(text) for n in m.groups() if n):
                self.trip(f"%-format width above {_MAX_FORMAT_WIDTH} or '*' is not allowed")
            for arg in b.values() if isinstance(b, dict) else b if isinstance(b, tuple) else (b,):
                _check_decimal(arg)  # %d of a huge Decimal

    def guards(self) -> dict[str, Any]:
        checks = {"**": self.check_pow, "*": self.check_mul, "+": self.check_add, "<<": self.check_lshift,
                  "%": self.check_mod}

        def guarded(op: str, func: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
            check = checks[op]

            def run(a: Any, b: Any) -> Any:
                check(a, b)
                return func(a, b)
            return run

        def inplacevar(op: str, x: Any, y: Any) -> Any:
            if op[:-1] in checks:
                checks[op[:-1]](x, y)
            return _INPLACE_OPS[op](x, y)

        return {
            "_step_": self.step, "_getiter_": self.getiter, "_getattr_": self.getattr,
            "_getitem_": operator.getitem, "_write_": self.write, "_inplacevar_": inplacevar,
            "_apply_": operator.call, "_print_": PrintCollector,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_pow_": guarded("**", operator.pow), "_mul_": guarded("*", operator.mul),
            "_add_": guarded("+", operator.add), "_lshift_": guarded("<<", operator.lshift),
            "_mod_": guarded("%", operator.mod), "_format_": _format_guard, "_truediv_": exact_division,
            "_decimal_": decimal_literal,
        }

    def builtins(self) -> dict[str, Any]:
        return {**_BUILTINS, "range": self.range, "pow": self.pow, "sum": self.sum, "iter": self.iter}

    def write(self, ob: Any) -> Any:
        return _ListWriter(ob, self) if isinstance(ob, list) else full_write_guard(ob)

    def getattr(self, ob: Any, name: str, *default: Any) -> Any:
        if name == "mro":
            raise AttributeError('"mro" is not available in scripts')
        value = safer_getattr(ob, name, *default) if default else safer_getattr_raise(ob, name)
        if name not in _SIZED_METHODS:
            return value
        if isinstance(ob, Decimal):
            _check_decimal(ob)  # as_integer_ratio
        elif (type(ob) is type and ob in (str, bytes, list, Decimal)) or (
                name in ("translate", "expandtabs") and isinstance(ob, (str, bytes))):
            # Unbound methods hide the instance from the size check; these two cannot be sized cheaply.
            raise AttributeError(f'"{name}" is not available here in scripts')
        elif isinstance(ob, (str, bytes, list)):
            return lambda *args, **kwargs: self.sized(ob, name, value, *args, **kwargs)  # no attributes
        return value

    def sized(self, ob: Any, name: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Refuse before C allocates: estimate the result size of a str/bytes/list method call."""
        if name in ("extend", "join") and args:
            items = self.items(args[0])
            args = (items, *args[1:])
            self.size(len(ob) + len(items) if name == "extend" else
                      sum(len(i) for i in items if isinstance(i, (str, bytes))) + len(ob) * len(items))
        elif name == "replace" and len(args) >= 2 and all(isinstance(a, type(ob)) for a in args[:2]):
            self.size(len(ob) + (ob.count(args[0]) + 1) * max(0, len(args[1]) - len(args[0])))
        elif args and isinstance(args[0], int):  # ljust, rjust, center, zfill
            self.size(args[0])
        return method(*args, **kwargs)

    def range(self, *args: int) -> range:
        result = range(*args)
        try:
            self.size(len(result))  # sum(range(10**12)) would run in C, unseen by the counter
        except OverflowError:
            self.trip("range is too large")
        return result

    def pow(self, base: Any, exp: Any, mod: Any = None) -> Any:
        if mod is None:
            self.check_pow(base, exp)
        return pow(base, exp, mod)

    def sum(self, iterable: Iterable[Any], start: Any = 0) -> Any:
        items = self.items(iterable)
        if not isinstance(start, (list, tuple)):
            return sum(items, start)
        total = list(start)  # linear, where sum() of lists copies quadratically
        for item in items:
            if not isinstance(item, type(start)):
                raise TypeError(f"can only concatenate {type(start).__name__} to {type(start).__name__}")
            total.extend(item)
            self.size(len(total))
        return type(start)(total)

    def iter(self, *args: Any) -> Iterator[Any]:
        return self.getiter(iter(*args))
