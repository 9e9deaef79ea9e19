"""The Step Functions provider (boto3 ``stepfunctions``, imported on first use): the same calls as the
local executor, answered by AWS. The state machine is the stack's (its ARN in ``STRATO_WORKFLOW_<NAME>``'s
companion variable), or created on open against moto_server (``STRATO_AUTO_CREATE``).

Python task handlers run as the Lambda functions ``strato synth`` makes of them (``task_functions.py``), so
this provider declares ``python_tasks``; a machine auto-created on moto_server has no such functions."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from ..core.config import env_token
from ..core.errors import NotFound, ServiceUnavailable, StratoError, ValidationError
from ..runtime.aws import error_code

if TYPE_CHECKING:
    from ..core.context import AwsClients, ProviderServices
    from . import Workflow
    from .spi import WorkflowBackend

ROLE = "arn:aws:iam::123456789012:role/strato-workflow"  # what moto accepts when it creates the machine


def _translate(exc: BaseException, workflow: str) -> StratoError:
    code = error_code(exc)
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", str(exc))
    if code in ("TaskDoesNotExist", "InvalidToken", "TaskTimedOut", "InvalidOutput"):
        from . import callbacks  # the same typed errors as the local executor's

        return getattr(callbacks, code)(f"{code}: {message}")
    if code in ("ExecutionDoesNotExist", "StateMachineDoesNotExist", "ResourceNotFound"):
        return NotFound(f"workflow {workflow!r}: {code}: {message}")
    if code in ("ExecutionAlreadyExists", "InvalidName", "InvalidExecutionInput", "ValidationException", "InvalidArn"):
        return ValidationError(f"workflow {workflow!r}: {code}: {message}")
    if code in ("ThrottlingException", "ExecutionLimitExceeded"):
        return ServiceUnavailable(f"workflow {workflow!r}: {code}: {message}")
    return StratoError(f"workflow {workflow!r}: Step Functions error {code or type(exc).__name__}: {message}")


class StepFunctionsBackend:
    capabilities = frozenset({"history", "start_sync", "python_tasks"})

    def __init__(self, session: AwsClients, workflow: Workflow, physical: str, auto_create: bool) -> None:
        self.client = session.client("stepfunctions")
        self.workflow = workflow
        self.physical = physical
        self.arn = os.environ.get(f"STRATO_WORKFLOW_{env_token(workflow.name)}_ARN") or self._find(auto_create)

    def _find(self, auto_create: bool) -> str:
        try:
            paginator = self.client.get_paginator("list_state_machines")
            for page in paginator.paginate():
                for machine in page["stateMachines"]:
                    if machine["name"] == self.physical:
                        return str(machine["stateMachineArn"])
            if not auto_create:
                raise NotFound(f"state machine {self.physical!r} does not exist: deploy the stack")
            created = self.client.create_state_machine(
                name=self.physical,
                definition=json.dumps(self.workflow.definition),
                roleArn=ROLE,
                type=self.workflow.type,
            )
            return str(created["stateMachineArn"])
        except StratoError:
            raise
        except Exception as exc:
            raise _translate(exc, self.workflow.name) from exc

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(**kwargs)
        except Exception as exc:
            raise _translate(exc, self.workflow.name) from exc

    def start(self, name: str, input_text: str) -> str:
        return str(self._call("start_execution", stateMachineArn=self.arn, name=name, input=input_text)["executionArn"])

    def start_sync(self, name: str, input_text: str) -> dict[str, Any]:
        found = self._call("start_sync_execution", stateMachineArn=self.arn, name=name, input=input_text)
        return _shape(found)

    def describe(self, arn: str) -> dict[str, Any]:
        return _shape(self._call("describe_execution", executionArn=arn))

    def history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self._call("get_execution_history", executionArn=arn, **({"nextToken": token} if token else {}))
            for event in page["events"]:
                event = dict(event)
                event["timestamp"] = event["timestamp"].timestamp()
                events.append(event)
            token = page.get("nextToken")
            if not token:
                return events

    def executions(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        args: dict[str, Any] = {"stateMachineArn": self.arn, "maxResults": limit}
        if status is not None:
            args["statusFilter"] = status
        found = self._call("list_executions", **args)["executions"]
        return [self.describe(e["executionArn"]) for e in found]

    def stop(self, arn: str, error: str, cause: str) -> None:
        if self.describe(arn)["status"] != "RUNNING":
            return
        self._call("stop_execution", executionArn=arn, error=error, cause=cause)

    def send_task_success(self, token: str, output_text: str) -> None:
        self._call("send_task_success", taskToken=token, output=output_text)

    def send_task_failure(self, token: str, error: str, cause: str) -> None:
        self._call("send_task_failure", taskToken=token, error=error, cause=cause)

    def send_task_heartbeat(self, token: str) -> None:
        self._call("send_task_heartbeat", taskToken=token)

    def drop(self) -> None:
        for execution in self.executions("RUNNING", 1000):
            self.stop(execution["executionArn"], "", "")


def _shape(found: dict[str, Any]) -> dict[str, Any]:
    stop = found.get("stopDate")
    return {
        "executionArn": found["executionArn"],
        "name": found.get("name") or found["executionArn"].rsplit(":", 1)[-1],
        "status": found["status"],
        "input": found.get("input"),
        "output": found.get("output"),
        "error": found.get("error"),
        "cause": found.get("cause"),
        "startDate": found["startDate"].timestamp(),
        "stopDate": stop.timestamp() if stop is not None else None,
    }


def open_backend(workflow: Workflow, services: ProviderServices) -> StepFunctionsBackend:
    physical = services.config.physical_name("workflow", workflow.name)
    return StepFunctionsBackend(services.aws(), workflow, physical, services.config.auto_create)


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface

    def _conforms(backend: StepFunctionsBackend) -> WorkflowBackend:
        return backend
