"""RestrictedPython sandbox for the code in diagrams (scripts, conditions, DMN, timers): untrusted input.

Two layers. At compile time (policy) RestrictedPython's AST policy, extended with our refusals,
rejects unsafe code and rewrites loops, calls and size-prone operators into calls to guards; the
code objects are cached, so they hold no state. At run time (guards) each evaluation gets a fresh
budget whose bound methods are those guards, counting steps and time and refusing oversized results
before C allocates them. RestrictedEnvironment (environment) wires both into SpiffWorkflow.
Only the names in __all__ are the API; the submodules are internal.
"""

from .environment import RestrictedEnvironment
from .errors import SandboxError, ScriptLimitError, ScriptRejectedError
from .limits import Limits
from .policy import check_expression, check_script, compile_expression, compile_script

__all__ = [
    "Limits",
    "RestrictedEnvironment",
    "SandboxError",
    "ScriptLimitError",
    "ScriptRejectedError",
    "check_expression",
    "check_script",
    "compile_expression",
    "compile_script",
]
