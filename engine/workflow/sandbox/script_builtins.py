"""The builtins scripts see: RestrictedPython's safe set, pruned, plus the offered classes and checked int/round."""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal
from typing import Any

from RestrictedPython import limited_builtins, safe_builtins

from engine.workflow.clock import ClockedDate, ClockedDatetime

from .limits import _check_decimal


class _IntType(type):
    """The offered `int` converts with a size check, yet still works in isinstance() and issubclass()."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, int)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, int)

    def __call__(cls, *args: Any, **kwargs: Any) -> int:
        if args:
            _check_decimal(args[0])
        return int(*args, **kwargs)


class _Int(metaclass=_IntType):
    """The `int` scripts see."""


def _round(number: Any, *ndigits: Any) -> Any:
    if not ndigits:
        _check_decimal(number)
    return round(number, *ndigits)


_DROPPED = {"setattr", "delattr", "_getattr_", "__build_class__", "BaseException", "KeyboardInterrupt",
            "SystemExit", "GeneratorExit", "pow", "range", "int", "round", "float"}
# Classes and functions only: no module, nothing from utility_builtins that exposes one (datetime.sys…).
# In __builtins__ rather than TaskDataEnvironment.globals: a form field named `date` then shadows the
# class in that script instead of making every script fail check_for_overwrite.
_BUILTINS: dict[str, Any] = {
    **{k: v for k, v in safe_builtins.items() if k not in _DROPPED},
    **{k: v for k, v in limited_builtins.items() if k not in _DROPPED},
    "min": min, "max": max, "sorted": sorted, "enumerate": enumerate, "zip": zip, "any": any, "all": all,
    "dict": dict, "set": set, "frozenset": frozenset, "list": list, "map": map, "filter": filter,
    "reversed": reversed, "abs": abs, "len": len, "str": str, "bool": bool,
    "isinstance": isinstance, "next": next, "int": _Int, "round": _round,
    # now()/today() read the engine's clock (the step's time), never the wall clock: replay sees the same.
    "Decimal": Decimal, "date": ClockedDate, "datetime": ClockedDatetime, "timedelta": timedelta,
    "timezone": timezone,
}
