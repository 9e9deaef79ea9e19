"""The workflow provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

from ..core.hints import Any, Protocol

#: history: GetExecutionHistory; start_sync: StartSyncExecution (Express);
#: python_tasks: a Task's Resource may name a Python task handler that this provider runs
CAPABILITIES = frozenset({"history", "start_sync", "python_tasks"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {
    "start": ("states:StartExecution", "states:StartSyncExecution"),
    "read": ("states:DescribeExecution", "states:GetExecutionHistory", "states:ListExecutions"),
    "stop": ("states:StopExecution",),
    "callback": ("states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"),
}


class WorkflowBackend(Protocol):
    """Runs executions of one validated definition; inputs are JSON text, checked already."""

    capabilities: frozenset[str]

    def start(self, name: str, input_text: str) -> str: ...
    def start_sync(self, name: str, input_text: str) -> dict[str, Any]: ...
    def describe(self, arn: str) -> dict[str, Any]: ...
    def history(self, arn: str) -> list[dict[str, Any]]: ...
    def executions(self, status: str | None, limit: int) -> list[dict[str, Any]]: ...
    def stop(self, arn: str, error: str, cause: str) -> None: ...
    def send_task_success(self, token: str, output_text: str) -> None: ...
    def send_task_failure(self, token: str, error: str, cause: str) -> None: ...
    def send_task_heartbeat(self, token: str) -> None: ...
    def drop(self) -> None: ...
