"""The sandbox's exceptions: refusals at compile time, limits at run time, and the internal budget signal."""

from __future__ import annotations


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
