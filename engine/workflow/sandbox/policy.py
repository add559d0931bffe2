"""Compile time: the AST policy that refuses unsafe code and inserts the guard calls, and the compile cache."""

from __future__ import annotations

import ast
import functools
import re
import types
from typing import Any

from RestrictedPython import RestrictingNodeTransformer
from RestrictedPython.transformer import ALLOWED_FUNC_NAMES, copy_locations

from .errors import ScriptRejectedError
from .limits import _MAX_FORMAT_WIDTH, _MAX_SOURCE_LEN, _too_wide

_FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "getattr", "setattr", "delattr", "globals", "locals", "vars",
    "input", "help", "memoryview", "type", "dir", "super",
})  # RestrictedPython itself refuses "__import__", "breakpoint" and every other "_" name
# Operators whose result size C computes from the operands: each becomes a call to its guard (guards.py).
_BINOP_GUARDS = {ast.Pow: "_pow_", ast.Mult: "_mul_", ast.Add: "_add_", ast.LShift: "_lshift_",
                 ast.Mod: "_mod_", ast.Div: "_truediv_"}  # _truediv_: ints and Decimals divide exactly
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

    def visit_Constant(self, node: ast.Constant) -> Any:
        node = super().visit_Constant(node)
        if type(node.value) is float:  # money is Decimal end to end: 0.8 in a script or rule table is exact
            text = ast.Constant(repr(node.value))
            copy_locations(text, node)
            return _call("_decimal_", [text], node)
        return node

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id == "float":
            self.error(node, '"float" is not available in scripts: numbers with a fraction are Decimal '
                             '(write 0.1 or Decimal("0.1"))')
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
# per-call state lives in the _Budget (guards.py) whose bound methods are passed in as globals.
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
