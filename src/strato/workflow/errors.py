"""A failure inside an execution, named as Step Functions names it (``States.Runtime``, a task's own error)."""

from __future__ import annotations

#: errors States.ALL does not match (concepts-error-handling: "can't catch the States.DataLimitExceeded terminal
#: error or Runtime error types"); States.Runtime is matched by nothing, it "always causes the execution to fail"
UNCATCHABLE = frozenset({"States.DataLimitExceeded", "States.Runtime"})
#: States.TaskFailed matches every error of a task except States.Timeout
NOT_TASK_FAILED = frozenset({"States.Timeout"})


class StatesError(Exception):
    """``error`` is the name Retry / Catch match; ``cause`` the text that goes with it."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


def matches(error_equals: list[str], error: str, *, from_task: bool) -> bool:
    """Whether a Retrier / Catcher's ErrorEquals names ``error``."""
    if error == "States.Runtime":
        return False
    for name in error_equals:
        if name == error:
            return True
        if name == "States.ALL" and error not in UNCATCHABLE:
            return True
        if name == "States.TaskFailed" and from_task and error not in NOT_TASK_FAILED and error not in UNCATCHABLE:
            return True
    return False


def of_exception(exc: BaseException) -> StatesError:
    """A task handler's exception as Step Functions reports a Lambda's: its class name and message."""
    if isinstance(exc, StatesError):
        return exc
    return StatesError(type(exc).__name__, str(exc))
