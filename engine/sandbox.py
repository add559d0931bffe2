"""RestrictedPython sandbox for the code in diagrams (scripts, conditions, DMN, timers): untrusted input."""

from __future__ import annotations

import ast
import copy
import functools
import operator
import re
import time
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, NoReturn

from RestrictedPython import PrintCollector, RestrictingNodeTransformer, limited_builtins, safe_builtins
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
    safer_getattr_raise,
)
from RestrictedPython.transformer import ALLOWED_FUNC_NAMES, copy_locations
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment


class SandboxError(Exception):
    """Base of every refusal by the sandbox."""


class ScriptRejectedError(SandboxError):
    """A script or expression refused at compile time."""

    def __init__(self, reason: str, lineno: int | None = None, more: int = 0) -> None:
        self.reason, self.lineno = reason, lineno
        text = f"line {lineno}: {reason}" if lineno else reason
        super().__init__(text + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""))


class ScriptLimitError(SandboxError):
    """A step, time or size budget was exceeded at run time."""


# Why two classes: inside the script a limit must not be swallowed by `except Exception`, so the
# guards raise this BaseException; and once tripped, every later _step_ raises it again, so even a
# bare `except:` only buys the handler's own few statements. RestrictedEnvironment turns it into
# ScriptLimitError (an Exception) at its boundary, because SpiffWorkflow marks a task ERROR and wraps
# the error in WorkflowTaskException only for Exceptions; a BaseException would leave the task hanging.
class _BudgetExceeded(BaseException):
    pass


@dataclass(frozen=True)
class Limits:
    """Run-time budget of one script or expression evaluation."""

    max_steps: int = 1_000_000  # loop iterations + function calls + items drawn through _getiter_
    max_seconds: float = 2.0  # wall clock, checked by the step counter
    max_power_exponent: int = 10_000  # int ** int
    max_int_bits: int = 10_000  # int results of ** * <<; int<->Decimal conversion is quadratic in size
    max_sequence_len: int = 1_000_000  # str/bytes/list/tuple built by * + join, padding, range(), ...


_CHECK_EVERY = 128  # steps between clock reads: a step may be a C-level op on a 1M-item list
_MAX_FORMAT_WIDTH = 10_000  # widths/precisions in f-strings and %-formatting
_MAX_DECIMAL_DIGITS = 5_000  # Decimal exponents beyond this are not expanded into digits
_MAX_SOURCE_LEN = 100_000
_SEQUENCES = (str, bytes, list, tuple)
_FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "getattr", "setattr", "delattr", "globals", "locals", "vars",
    "input", "help", "memoryview", "type", "dir", "super",
})  # RestrictedPython itself refuses "__import__", "breakpoint" and every other "_" name
_BINOP_GUARDS = {ast.Pow: "_pow_", ast.Mult: "_mul_", ast.Add: "_add_", ast.LShift: "_lshift_",
                 ast.Mod: "_mod_"}
_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand,
    "@=": operator.imatmul,
}
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d*)(?:\.(\*|\d*))?")
# Methods whose output size C computes from an argument: checked before the call (see _Budget.sized).
_SIZED_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "join", "replace", "extend", "translate",
                            "expandtabs", "as_integer_ratio"})


def _too_wide(numbers: Iterable[str]) -> bool:
    return any(n == "*" or (n.isdigit() and int(n) > _MAX_FORMAT_WIDTH) for n in numbers)


_DENIED = {ast.Import: "imports", ast.ImportFrom: "imports", ast.Global: "global statements",
           ast.Yield: "generators (yield)", ast.YieldFrom: "generators (yield)",
           ast.ClassDef: "class definitions"}


def _call(func: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    call = ast.Call(ast.Name(func, ast.Load()), args, [])
    copy_locations(call, like)
    return call


class _SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus our refusals and the calls that enforce the run-time budget."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[tuple[int | None, str]] = []

    def error(self, node: ast.AST, info: str) -> None:
        if info in ("Exec calls are not allowed.", "Eval calls are not allowed."):
            return  # visit_Name reports these names wherever they appear, not only in calls
        super().error(node, info)
        self.problems.append((getattr(node, "lineno", None), info))

    def visit(self, node: ast.AST) -> Any:
        what = _DENIED.get(type(node))
        if what is None:
            return super().visit(node)
        self.error(node, f"{what} are not allowed in scripts")
        return self.node_contents_visit(node)  # keep looking, so validation reports every problem

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in _FORBIDDEN_NAMES:
            self.error(node, f'"{node.id}" is not available in scripts')
        return super().visit_Name(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr == "mro":  # Exception.mro() reaches BaseException, which SpiffWorkflow does not catch
            self.error(node, '"mro" is not available in scripts')
        return super().visit_Attribute(node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        # f"{x:>1000000000}" would allocate in C, out of reach of any guard.
        for part in node.format_spec.values if isinstance(node.format_spec, ast.JoinedStr) else ():
            if isinstance(part, ast.FormattedValue):
                self.error(node, "computed format specs are not allowed in f-strings")
            elif isinstance(part, ast.Constant) and _too_wide(re.findall(r"\d+", str(part.value))):
                self.error(node, f"format width above {_MAX_FORMAT_WIDTH} is not allowed")
        node = super().visit_FormattedValue(node)
        if node.format_spec is not None:
            node.value = _call("_format_", [node.value], node)
        return node

    def _step_first(self, node: Any) -> Any:
        stmt = ast.Expr(_call("_step_", [], node))
        copy_locations(stmt, node)
        node.body.insert(0, stmt)
        return node

    def visit_For(self, node: ast.For) -> Any:
        return self._step_first(super().visit_For(node))

    def visit_While(self, node: ast.While) -> Any:
        return self._step_first(super().visit_While(node))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        if node.name in ALLOWED_FUNC_NAMES and node.col_offset:  # the parent allows these when nested
            self.error(node, f'"{node.name}" is an invalid function name because it starts with "_"')
        return self._step_first(super().visit_FunctionDef(node))

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)
        node.body = ast.BoolOp(ast.Or(), [_call("_step_", [], node), node.body])  # _step_() is None
        copy_locations(node.body, node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = super().visit_BinOp(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        return node if guard is None else _call(guard, [node.left, node.right], node)

    def visit_Starred(self, node: ast.Starred) -> Any:
        node = super().visit_Starred(node)
        if isinstance(node.ctx, ast.Load):  # [*x, *x] copies in C; draw the items through _getiter_
            node.value = _call("_getiter_", [node.value], node)
        return node


_Compiled = tuple[types.CodeType | None, tuple[tuple[int | None, str], ...]]


def _compile(source: str, mode: str) -> _Compiled:
    if len(source) > _MAX_SOURCE_LEN:  # the cache keeps its keys: no megabyte sources in it
        return None, ((None, f"longer than {_MAX_SOURCE_LEN} characters"),)
    return _compile_cached(source, mode)


# Cached per (source, mode): code objects are immutable and shared across calls and threads; all
# per-call state lives in the _Budget whose bound methods are passed in as globals.
@functools.lru_cache(maxsize=4096)
def _compile_cached(source: str, mode: str) -> _Compiled:
    try:
        tree = ast.parse(source, "<string>", mode)
    except SyntaxError as exc:
        return None, ((exc.lineno, f"syntax error: {exc.msg}"),)
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, ((None, f"cannot parse: {exc or type(exc).__name__}"),)
    policy = _SandboxPolicy()
    try:
        tree = policy.visit(tree)
    except RecursionError:
        return None, ((None, "nested too deeply"),)
    if policy.problems:
        return None, tuple(sorted(policy.problems, key=lambda problem: problem[0] or 0))
    try:
        return compile(tree, "<string>", mode), ()
    except (SyntaxError, ValueError) as exc:  # e.g. a SyntaxWarning turned into an error
        return None, ((getattr(exc, "lineno", None), f"cannot compile: {exc}"),)


def _compiled(source: str, mode: str) -> types.CodeType:
    code, problems = _compile(source, mode)
    if code is None:
        (lineno, reason), more = problems[0], len(problems) - 1
        raise ScriptRejectedError(reason, lineno, more)
    return code


def compile_script(source: str) -> types.CodeType:
    """Compile a script (exec mode) under the sandbox policy; raise ScriptRejectedError if refused."""
    return _compiled(source, "exec")


def compile_expression(source: str) -> types.CodeType:
    """Compile an expression (eval mode, stripped) under the sandbox policy; raise ScriptRejectedError."""
    return _compiled(source.strip(), "eval")


def check_script(source: str) -> list[ScriptRejectedError]:
    """Every reason the script would be refused; empty when it compiles."""
    return [ScriptRejectedError(reason, line) for line, reason in _compile(source, "exec")[1]]


def check_expression(source: str) -> list[ScriptRejectedError]:
    """Every reason the expression would be refused; empty when it compiles."""
    return [ScriptRejectedError(reason, line) for line, reason in _compile(source.strip(), "eval")[1]]


def _check_decimal(value: Any) -> None:
    # int(Decimal("1e999999")) runs ~40 s in C; f"{Decimal('1e999999999'):f}" writes a billion digits.
    if isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) > _MAX_DECIMAL_DIGITS:
        raise _BudgetExceeded(f"a Decimal beyond 1E±{_MAX_DECIMAL_DIGITS} cannot be converted or formatted")


def _format_guard(value: Any) -> Any:
    _check_decimal(value)
    return value


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
            "SystemExit", "GeneratorExit", "pow", "range", "int", "round"}
# Classes and functions only: no module, nothing from utility_builtins that exposes one (datetime.sys…).
# In __builtins__ rather than TaskDataEnvironment.globals: a form field named `date` then shadows the
# class in that script instead of making every script fail check_for_overwrite.
_BUILTINS: dict[str, Any] = {
    **{k: v for k, v in safe_builtins.items() if k not in _DROPPED},
    **{k: v for k, v in limited_builtins.items() if k not in _DROPPED},
    "min": min, "max": max, "sorted": sorted, "enumerate": enumerate, "zip": zip, "any": any, "all": all,
    "dict": dict, "set": set, "frozenset": frozenset, "list": list, "map": map, "filter": filter,
    "reversed": reversed, "abs": abs, "len": len, "str": str, "float": float, "bool": bool,
    "isinstance": isinstance, "next": next, "int": _Int, "round": _round,
    "Decimal": Decimal, "date": date, "datetime": datetime, "timedelta": timedelta, "timezone": timezone,
}


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
            "_mod_": guarded("%", operator.mod), "_format_": _format_guard,
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


class RestrictedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment that compiles under the sandbox policy and runs with guarded globals."""

    def __init__(self, extra_globals: dict[str, Any] | None = None, limits: Limits = Limits()) -> None:
        super().__init__(dict(extra_globals or {}))
        self.limits = limits

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        """Evaluate an expression against task data, like the parent but sandboxed."""
        code = compile_expression(expression)
        namespace = copy.copy(self.globals)
        self._prepare_context(context)
        namespace.update(external_context or {})
        namespace.update(context)
        return self._run(code, namespace)

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        """Run a script with the task data as globals, like the parent but sandboxed."""
        code = compile_script(script)
        self.check_for_overwrite(context, external_context or {})
        namespace = copy.copy(self.globals)
        self._prepare_context(context)
        namespace.update(external_context or {})
        context.update(namespace)
        try:
            self._run(code, context)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True

    def _run(self, code: types.CodeType, namespace: dict[str, Any]) -> Any:
        budget = _Budget(self.limits)
        # After the task data: a data key must never replace a guard or the builtins.
        namespace.update(budget.guards())
        namespace["__builtins__"] = budget.builtins()
        try:
            result = eval(code, namespace)
        except _BudgetExceeded as exc:
            raise ScriptLimitError(str(exc)).with_traceback(exc.__traceback__) from None
        except BaseException as exc:
            if isinstance(exc, (Exception, KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            # A bare BaseException from the script would slip past SpiffWorkflow's error handling.
            raise SandboxError(f"scripts may not raise {type(exc).__name__}") from exc
        if budget.tripped:  # tripped, then swallowed by a bare except: still a failure
            raise ScriptLimitError(budget.tripped)
        return result
