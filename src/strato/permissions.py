"""What each declared action lets code do, locally and in IAM.

``app.table("jobs", key="id", allow=("read",))`` declares that the code only reads that table: the
local providers then refuse a write with AccessDenied (as IAM would in production), and ``strato
synth`` grants exactly GetItem / BatchGetItem / Query / ConditionCheckItem on the table and its
indexes. Leaving ``allow`` out grants every action of the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from .errors import AccessDenied, ConfigurationError

F = TypeVar("F", bound=Callable[..., Any])

_DYNAMO_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"]
_DYNAMO_WRITE = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
]

#: kind -> action -> IAM actions it needs
ACTIONS: dict[str, dict[str, list[str]]] = {
    "table": {"read": _DYNAMO_READ, "write": _DYNAMO_WRITE},
    "kv": {"read": _DYNAMO_READ, "write": _DYNAMO_WRITE},
    "cache": {"read": _DYNAMO_READ, "write": _DYNAMO_WRITE},
    "bucket": {
        "read": ["s3:GetObject"],
        "list": ["s3:ListBucket"],
        "write": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        "delete": ["s3:DeleteObject"],
    },
    "queue": {
        "send": ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
        "receive": [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueUrl",
            "sqs:GetQueueAttributes",
        ],
        "purge": ["sqs:PurgeQueue", "sqs:GetQueueUrl"],
    },
    "topic": {
        "publish": ["sns:Publish"],
        "subscribe": [
            "sns:Subscribe",
            "sns:Unsubscribe",
            "sns:ListSubscriptionsByTopic",
            "sns:GetSubscriptionAttributes",
            "sns:ConfirmSubscription",
        ],
    },
    "websocket": {"manage": ["execute-api:ManageConnections"]},
    "sql": {"connect": ["secretsmanager:GetSecretValue"]},
    # PutMetricData takes no resource ARN; synth narrows it with the cloudwatch:namespace condition key
    "metrics": {"put": ["cloudwatch:PutMetricData"], "read": ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"]},
    "meetings": {
        "manage": [
            "chime:CreateMeeting",
            "chime:GetMeeting",
            "chime:DeleteMeeting",
            "chime:CreateAttendee",
            "chime:BatchCreateAttendee",
            "chime:GetAttendee",
            "chime:ListAttendees",
            "chime:DeleteAttendee",
        ]
    },
    # sign-up, sign-in, refresh, sign-out and MFA are Cognito's public (token-authorised) calls: no IAM
    "user_pool": {
        "admin": [
            "cognito-idp:AdminCreateUser",
            "cognito-idp:AdminGetUser",
            "cognito-idp:AdminEnableUser",
            "cognito-idp:AdminDisableUser",
            "cognito-idp:AdminDeleteUser",
            "cognito-idp:AdminUserGlobalSignOut",
            "cognito-idp:AdminListGroupsForUser",
            "cognito-idp:AdminAddUserToGroup",
            "cognito-idp:AdminRemoveUserFromGroup",
            "cognito-idp:CreateGroup",
        ]
    },
}


def resolve(kind: str, name: str, allow: Iterable[str] | None) -> frozenset[str]:
    known = ACTIONS.get(kind, {})
    if allow is None:
        return frozenset(known)
    chosen = frozenset([allow] if isinstance(allow, str) else allow)
    unknown = chosen - set(known)
    if unknown:
        raise ConfigurationError(
            f"{kind} {name!r}: unknown action(s) {sorted(unknown)}; a {kind} allows {sorted(known)}"
        )
    return chosen


def requires(action: str) -> Callable[[F], F]:
    """Mark a facade method as needing ``action`` on its resource; undeclared -> AccessDenied."""

    def decorate(method: F) -> F:
        @wraps(method)
        def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
            if action not in self.allowed:
                raise AccessDenied(
                    f"AccessDenied: {self.kind} {self.name!r} does not allow {action!r} (declared allow="
                    f"{tuple(sorted(self.allowed))}); add {action!r} to its allow= to let the code "
                    f"{method.__name__}() it. On AWS the function's role would refuse it the same way."
                )
            return method(self, *args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate
