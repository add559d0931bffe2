"""RestrictedEnvironment: SpiffWorkflow's TaskDataEnvironment, compiling under the policy and running guarded."""

from __future__ import annotations

import copy
import types
from typing import Any

from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from .errors import SandboxError, ScriptLimitError, _BudgetExceeded
from .guards import _Budget
from .limits import Limits
from .policy import compile_expression, compile_script

# One shared default is safe because Limits is frozen; a call in the signature trips ruff B008 here.
_DEFAULT_LIMITS = Limits()


class RestrictedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment that compiles under the sandbox policy and runs with guarded globals."""

    def __init__(self, extra_globals: dict[str, Any] | None = None, limits: Limits = _DEFAULT_LIMITS) -> None:
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
