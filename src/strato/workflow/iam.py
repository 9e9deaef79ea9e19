"""What a state machine's role may do, generated from its definition: ``lambda:InvokeFunction`` on its
task functions, and for each optimized integration the actions Step Functions' own IAM templates list,
on the app's declared resource the Task names (or, when the Task picks it at run time with ``.$``, on every
declared resource of that kind: never on ``*``).

The tables follow the developer guide's "IAM policies for ..." pages:
https://docs.aws.amazon.com/step-functions/latest/dg/sqs-iam.html, sns-iam.html, dynamo-iam.html,
lambda-iam.html and stepfunctions-iam.html (``.sync`` / ``.sync:2`` also describe and stop the child
execution and manage the EventBridge rule Step Functions uses to hear of its end).

A Task naming its resource statically gets the value rewritten to a ``${...}`` placeholder whose
DefinitionSubstitutions entry is the deployed resource (a queue's URL, a topic's ARN, a table's name, a
state machine's ARN, a task function's ARN), so the definition deployed is the one declared."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError
from ..deploy.names import logical
from . import INTEGRATION, task_name
from .task_functions import substitution_key

if TYPE_CHECKING:
    from . import Workflow

#: integration -> (the Parameter naming its target, the target's kind, the IAM actions on it)
TARGETS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "sqs:sendMessage": ("QueueUrl", "queue", ("sqs:SendMessage",)),
    "sns:publish": ("TopicArn", "topic", ("sns:Publish",)),
    "dynamodb:getItem": ("TableName", "table", ("dynamodb:GetItem",)),
    "dynamodb:putItem": ("TableName", "table", ("dynamodb:PutItem",)),
    "dynamodb:updateItem": ("TableName", "table", ("dynamodb:UpdateItem",)),
    "dynamodb:deleteItem": ("TableName", "table", ("dynamodb:DeleteItem",)),
    "lambda:invoke": ("FunctionName", "task", ("lambda:InvokeFunction",)),
    "states:startExecution": ("StateMachineArn", "workflow", ("states:StartExecution",)),
}
PATTERNS = ("", ".waitForTaskToken", ".sync", ".sync:2")
#: (integration, pattern) -> extra (actions, what they act on: "executions" of the target, or "rule")
EXTRA: dict[tuple[str, str], list[tuple[tuple[str, ...], str]]] = {
    ("states:startExecution", ".sync"): [
        (("states:DescribeExecution", "states:StopExecution"), "executions"),
        (("events:DescribeRule", "events:PutRule", "events:PutTargets"), "rule"),
    ],
    ("states:startExecution", ".sync:2"): [
        (("states:DescribeExecution", "states:StopExecution"), "executions"),
        (("events:DescribeRule", "events:PutRule", "events:PutTargets"), "rule"),
    ],
}
RULE = (
    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
    "StepFunctionsGetEventsForStepFunctionsExecutionRule"
)


def split(resource: str) -> tuple[str, str]:
    """``arn:aws:states:::states:startExecution.sync:2`` -> (``states:startExecution``, ``.sync:2``)."""
    service = resource[len(INTEGRATION) :]
    for pattern in sorted(PATTERNS, key=len, reverse=True):
        if pattern and service.endswith(pattern):
            return service[: -len(pattern)], pattern
    return service, ""


class Plan:
    """The deployable definition, its DefinitionSubstitutions and the role's statements, built together."""

    def __init__(self, workflow: Workflow, function_arn: Any, machine_arn: Any, executions_arn: Any) -> None:
        """``function_arn(task)`` is the ARN of a task's function (creating it); ``machine_arn(name)`` and
        ``executions_arn(name)`` those of a workflow's state machine and of its executions (``:*``)."""
        self.workflow = workflow
        self.function_arn = function_arn
        self.machine_arn = machine_arn
        self.executions_arn = executions_arn
        self.definition = copy.deepcopy(workflow.definition)
        self.substitutions: dict[str, Any] = {}
        self.grants: dict[tuple[str, ...], list[Any]] = {}

    def build(self) -> Plan:
        self._walk(self.definition["States"])
        return self

    def statements(self) -> list[dict[str, Any]]:
        out = []
        for actions, resources in sorted(self.grants.items()):
            unique: list[Any] = []
            for resource in resources:
                if resource not in unique:
                    unique.append(resource)
            out.append({"Effect": "Allow", "Action": list(actions), "Resource": unique})
        return out

    # -- the definition -------------------------------------------------------------------------
    def _walk(self, states: dict[str, Any]) -> None:
        for name, state in states.items():
            if state.get("Type") == "Task":
                self._task(name, state)
            for branch in state.get("Branches", []):
                self._walk(branch["States"])
            for key in ("ItemProcessor", "Iterator"):
                if key in state:
                    self._walk(state[key]["States"])

    def _task(self, name: str, state: dict[str, Any]) -> None:
        resource = state["Resource"]
        if not resource.startswith(INTEGRATION):
            task = task_name(resource)
            key = substitution_key(task)
            self.substitutions[key] = self.function_arn(task)
            state["Resource"] = f"${{{key}}}"
            self._grant(("lambda:InvokeFunction",), self.function_arn(task))
            return
        service, pattern = split(resource)
        if service not in TARGETS:
            raise ConfigurationError(
                f"workflow {self.workflow.name!r}, state {name!r}: no IAM template for {resource!r} "
                f"(known: {', '.join(sorted(TARGETS))})"
            )
        parameter, kind, actions = TARGETS[service]
        given = state.get("Parameters")
        params: dict[str, Any] = given if isinstance(given, dict) else {}
        if parameter in params:
            target = self._target(name, kind, params[parameter])
            key = substitution_key(f"{kind}_{target.name}")
            self.substitutions[key] = _value(kind, target, self)
            params[parameter] = f"${{{key}}}"
            targets = [target]
        elif f"{parameter}.$" in params:  # chosen at run time: every declared resource of that kind
            targets = self._all(name, kind)
        else:
            raise ConfigurationError(f"workflow {self.workflow.name!r}, state {name!r}: {service} needs {parameter}")
        for target in targets:
            self._grant(actions, _arn(kind, target, self))
            for extra, on in EXTRA.get((service, pattern), []):
                self._grant(extra, {"Fn::Sub": RULE} if on == "rule" else _executions(target, self))

    def _grant(self, actions: tuple[str, ...], resource: Any) -> None:
        self.grants.setdefault(tuple(sorted(actions)), []).append(resource)

    def _target(self, state: str, kind: str, given: Any) -> Any:
        if kind == "task":
            task = task_name(given) if isinstance(given, str) else ""
            if task and (task in self.workflow.tasks or task in self.workflow.app_tasks):
                return _Task(task)
            raise ConfigurationError(
                f"workflow {self.workflow.name!r}, state {state!r}: FunctionName {given!r} is not a task of "
                "this app (declare it with @wf.task or @app.task)"
            )
        resources = list(self.workflow.app_resources(kind))
        last = given.rstrip("/").rsplit("/", 1)[-1] if isinstance(given, str) and given.startswith("http") else given
        for resource in resources:  # as the local executor resolves it: physical name, ARN, queue URL...
            if last == getattr(resource, "physical_name", None) or given == _arn_of(resource):
                return resource
        for resource in resources:  # ...or the strato name
            if given == resource.name:
                return resource
        raise ConfigurationError(
            f"workflow {self.workflow.name!r}, state {state!r}: no {kind} of this app is named {given!r}; "
            "a deployed workflow reaches the app's declared resources only"
        )

    def _all(self, state: str, kind: str) -> list[Any]:
        if kind == "task":
            raise ConfigurationError(
                f"workflow {self.workflow.name!r}, state {state!r}: name the task in FunctionName (not "
                "FunctionName.$) so its function and the role's permission can be generated"
            )
        found = list(self.workflow.app_resources(kind))
        if not found:
            raise ConfigurationError(f"workflow {self.workflow.name!r}, state {state!r}: the app declares no {kind}")
        return found


def _arn_of(resource: Any) -> Any:
    try:
        return getattr(resource, "arn", None)
    except Exception:
        return None


class _Task:
    def __init__(self, name: str) -> None:
        self.name = name


def _value(kind: str, target: Any, plan: Plan) -> Any:
    """What the placeholder becomes: what the integration's Parameter takes on AWS."""
    if kind == "task":
        return plan.function_arn(target.name)
    if kind == "workflow":
        return plan.machine_arn(target.name)
    return {"Ref": logical(target.name, {"queue": "Queue", "topic": "Topic", "table": "Table"}[kind])}


def _arn(kind: str, target: Any, plan: Plan) -> Any:
    if kind == "task":
        return plan.function_arn(target.name)
    if kind == "workflow":
        return plan.machine_arn(target.name)
    if kind == "topic":
        return {"Ref": logical(target.name, "Topic")}
    return {"Fn::GetAtt": [logical(target.name, {"queue": "Queue", "table": "Table"}[kind]), "Arn"]}


def _executions(target: Any, plan: Plan) -> Any:
    return plan.executions_arn(target.name)
