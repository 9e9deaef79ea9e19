"""analytics: the central analytics dashboard on strato (issue 23's contract).

Applications push metrics with an API key; analysts sign in (TOTP optional), watch live values over
GraphQL subscriptions, query history with CloudWatch's statistics, set alarms and read hourly reports.
Run it:  strato dev examples/analytics/app.py   (ANALYTICS_RETENTION_DAYS sets the raw data's TTL)
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import strato
from strato import AuthError, ConditionFailed, HTTPError, NotFound, Request, Sort, ValidationError
from strato.auth import Challenge, Tokens

sys.path.insert(0, str(Path(__file__).resolve().parent))
import raw
import reports
import schema
from alarms import Evaluator, definition_of
from validation import Invalid, batch_of, check_app_id, key_hash

RETENTION_DAYS = int(os.environ.get("ANALYTICS_RETENTION_DAYS", "30"))
NAMESPACE = "CentralAnalytics"
ADMINS = ["admins"]
MAX_ITEM_BYTES = 300 * 1024  # under DynamoDB's 400 KB item limit, with room for the encoding

app = strato.App("analytics")
app.tags(
    {
        "Application": "central-analytics",
        "Environment": os.environ.get("ANALYTICS_ENVIRONMENT", "production"),
        "CostCenter": "analytics",
        "Owner": "platform-team",
        "AutoShutdown": "false",
    }
)
app.backups(every="6 hours", keep_days=35)  # the seed: a backup every 6 hours (tables keep PITR too)
# least privilege: each resource allows what this code calls; the admin CLI (another principal) sets
# ANALYTICS_ADMIN=1 for the pool's admin calls, which the deployed functions never get
RW = ("read", "write")
users = app.user_pool(
    "analysts",
    password_policy=strato.PasswordPolicy(min_length=12),
    mfa="optional",
    self_sign_up=False,
    allow=("admin",) if os.environ.get("ANALYTICS_ADMIN") == "1" else (),
)
applications = app.table(
    "applications", key="applicationId", indexes={"by_key": "apiKeyHash", "all": ("kind", "applicationId")}, allow=RW
)
datapoints = app.table("datapoints", key="applicationId", sort="sk", ttl="expiresAt", allow=RW)
alarm_defs = app.table(
    "alarms", key="name", indexes={"by_application": ("applicationId", "name"), "all": ("kind", "name")}, allow=RW
)
alarm_history = app.table("alarm-history", key="applicationId", sort="sk", ttl="expiresAt", allow=RW)
metrics = app.metrics(NAMESPACE, retention_days=455, allow=("put", "read"))
notifications = app.topic("alarm-notifications", allow=("publish", "subscribe"))
report_files = app.bucket("reports", allow=("read", "write", "list"))  # list: a missing report is a 404, not 403
hourly = app.workflow("hourly-report", definition=reports.DEFINITION, allow=("start", "read"))
api = app.http()
site = app.site("web", directory="web/bundle")  # the PWA, built from web/ (uPlot)


def now() -> float:
    return strato.now()


# -- ingest and reads (HTTP, GraphQL and the report share these) ------------------------------------
def store(app_id: str, checked: list[dict[str, Any]]) -> None:
    """Every point into the metric store (what queries read) and the raw table (what feeds live updates).

    The raw table keeps one item per ingest call (chunked under DynamoDB's 400 KB item limit): one write
    and one change-stream record per batch instead of one per datapoint."""
    dims = {"ApplicationId": app_id}
    metrics.put_many([{**m, "dimensions": {**dims, **m["dimensions"]}} for m in checked])
    at = now()
    expires = int(at + RETENTION_DAYS * 86400)
    datapoints.batch_put(
        {
            "applicationId": app_id,
            "sk": f"{int(at * 1000):013d}#{strato.new_id()}",
            "points": chunk,
            "expiresAt": expires,
        }
        for chunk in raw.chunks(checked, MAX_ITEM_BYTES)
    )


def history(app_id: str, name: str, start: float, end: float, period: int, dims: dict[str, str]) -> list[Any]:
    return metrics.query(
        name,
        statistics=schema.STATISTICS,
        period=period,
        start=start,
        end=end,
        dimensions={"ApplicationId": app_id, **dims},
    )


def realtime(app_id: str) -> tuple[float, list[dict[str, Any]]]:
    """The last minute of raw datapoints, per metric name."""
    since = now() - 60
    received = datapoints.iterate(app_id, sort=Sort.gte(f"{int(since * 1000):013d}"), page_size=100)
    return since, raw.last_minute(received, since)


def catalogue(app_id: str) -> list[tuple[str, dict[str, str]]]:
    found = metrics.list(dimensions={"ApplicationId": app_id})
    return sorted((n, {k: v for k, v in d.items() if k != "ApplicationId"}) for n, d in found)


def cost(start: float, end: float) -> tuple[float, dict[str, float], str]:
    """This app's AWS bill from strato's usage model (the usage the local run recorded), prorated."""
    if app.config.provider != "local":
        raise ValidationError(
            "cost analysis reads the usage a local run recorded (strato cost); use Cost Explorer on AWS"
        )
    from strato import cost as pricing

    app.usage.flush()  # this process's counts so far into usage.db (strato worker's arrive within 2 s)
    lines = pricing.estimate(app.config.data_dir, 1.0, None, None, **pricing.storage_of(app))
    by_service = pricing.summary(lines, None)["by_service"]
    share = (end - start) / (30 * 86400)
    scaled = {s: v * share for s, v in by_service.items()}
    return sum(scaled.values()), scaled, "recorded usage priced as a month (us-east-1), prorated to the range"


def record(app_id: str, item: dict[str, Any]) -> dict[str, Any]:
    checked, errors = batch_of(item, app_id, now())
    if errors:
        raise ValidationError(errors[0]["message"])
    store(app_id, checked)
    return checked[0]


graph = app.graphql(
    schema.build(SimpleNamespace(history=history, realtime=realtime, catalogue=catalogue, cost=cost, record=record)),
    path="/graphql",
    auth=True,
)
evaluator = Evaluator(alarm_defs, metrics, notifications, graph, alarm_history, RETENTION_DAYS)


def list_apps() -> list[dict[str, Any]]:
    return list(applications.iterate("application", index="all", page_size=1000))


reports.register(hourly, list_apps, metrics, alarm_history, report_files, now)
app.schedule("rate(1 hour)", name="hourly-report", workflow=hourly, input={})


@datapoints.on_change(batch=True, batch_size=1000)
def ingested(records: list[Any]) -> list[Any]:
    """The change stream feeds the live views: one publish per batch, then the touched metrics' alarms."""
    by_app: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record.event == "INSERT" and record.new:
            by_app.setdefault(record.new["applicationId"], []).extend(raw.unrolled(record.new))
    if by_app:
        graph.publish("metricUpdates", by_app)
        touched = {(p["applicationId"], p["metricName"]) for points in by_app.values() for p in points}
        evaluator.run(evaluator.for_metrics(touched))
    return []


@app.schedule("rate(1 minute)", name="alarms")
def evaluate_alarms() -> None:
    """Missing data turns alarm states too: every alarm, once a minute."""
    evaluator.run(list(alarm_defs.iterate("alarm", index="all", page_size=1000)))


# -- helpers ---------------------------------------------------------------------------------------
def body_of(req: Request) -> dict[str, Any]:
    data = req.json()
    if not isinstance(data, dict):
        raise HTTPError(400, "send a JSON object")
    return data


def text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise HTTPError(400, f"{name!r} is missing or not a string")
    return value


def tokens(result: Tokens, refresh_token: str | None = None) -> dict[str, Any]:
    return {
        "idToken": result.id_token,
        "accessToken": result.access_token,
        "refreshToken": result.refresh_token or refresh_token,
        "expiresIn": result.expires_in,
    }


def refused(exc: AuthError) -> HTTPError:
    """Cognito's errors as the contract's statuses: bad input 400, anything else about credentials 401."""
    if exc.code in ("InvalidParameterException", "InvalidPasswordException"):
        return HTTPError(400, exc.message)
    return HTTPError(401, exc.message)


# -- sign-in ---------------------------------------------------------------------------------------
@api.post("/auth/login")
def login(req: Request) -> Any:
    body = body_of(req)
    email, password = text(body, "email"), text(body, "password")
    try:
        result = users.sign_in(email.lower(), password)
    except AuthError as exc:
        raise refused(exc) from None
    if isinstance(result, Challenge):  # the session carries the user name, as RespondToAuthChallenge needs it
        wrapped = json.dumps([result.parameters.get("USER_ID_FOR_SRP", email.lower()), result.session])
        return {"challenge": result.name, "session": base64.urlsafe_b64encode(wrapped.encode()).decode()}
    return tokens(result)


@api.post("/auth/mfa")
def mfa(req: Request) -> Any:
    body = body_of(req)
    try:
        username, session = json.loads(base64.urlsafe_b64decode(text(body, "session")))
    except (ValueError, binascii.Error, TypeError):
        raise HTTPError(401, "invalid session: sign in again") from None
    challenge = Challenge("SOFTWARE_TOKEN_MFA", str(session), {"USER_ID_FOR_SRP": str(username)})
    try:
        result = users.respond(challenge, code=text(body, "code"))
    except AuthError as exc:
        raise refused(exc) from None
    if not isinstance(result, Tokens):
        raise HTTPError(401, f"another challenge: {result.name}")
    return tokens(result)


@api.post("/auth/refresh")
def refresh(req: Request) -> Any:
    given = text(body_of(req), "refreshToken")
    try:
        return tokens(users.refresh(given), given)
    except AuthError as exc:
        raise refused(exc) from None


@api.post("/auth/totp/setup", auth=True)
def totp_setup(req: Request) -> Any:
    """Enrol TOTP: the secret for an authenticator app (body: the caller's accessToken)."""
    access = text(body_of(req), "accessToken")
    try:
        secret = users.setup_totp(access)
    except AuthError as exc:
        raise refused(exc) from None
    return {"secretCode": secret, "uri": users.totp_uri(secret, req.claims.get("email", ""), "central-analytics")}


@api.post("/auth/totp/verify", auth=True)
def totp_verify(req: Request) -> Any:
    body = body_of(req)
    try:
        users.confirm_totp(text(body, "accessToken"), text(body, "code"))
    except AuthError as exc:
        raise refused(exc) from None
    return {"enabled": True}


# -- applications ------------------------------------------------------------------------------------
@api.post("/api/applications", groups=ADMINS)
def create_application(req: Request) -> Any:
    try:
        app_id = check_app_id(body_of(req).get("applicationId"))
    except Invalid as bad:
        raise HTTPError(400, str(bad)) from None
    key = f"ak_{secrets.token_urlsafe(32)}"
    item = {"applicationId": app_id, "kind": "application", "apiKeyHash": key_hash(key), "createdAt": now()}
    try:
        applications.put({**item, "createdBy": req.claims.get("email", req.claims.get("sub"))}, if_absent=True)
    except ConditionFailed:
        raise HTTPError(409, f"application {app_id!r} exists") from None
    return 201, {"applicationId": app_id, "apiKey": key}


@api.get("/api/applications", auth=True)
def get_applications(req: Request) -> Any:
    return {"applications": [{"applicationId": a["applicationId"], "createdAt": a["createdAt"]} for a in list_apps()]}


@api.delete("/api/applications/{id}", groups=ADMINS)
def delete_application(req: Request, id: str) -> Any:
    if applications.delete(id) is None:
        raise HTTPError(404, f"no application {id!r}")
    return 204, None


# -- ingest ----------------------------------------------------------------------------------------
@api.post("/api/metrics")
def ingest(req: Request) -> Any:
    key = req.headers.get("x-api-key", "")
    found = applications.query(key_hash(key), index="by_key", limit=1).items if key else []
    if not found:
        raise HTTPError(401, "missing or wrong x-api-key")
    app_id = found[0]["applicationId"]
    checked, errors = batch_of(req.json(), app_id, now())
    if errors:
        return 400, {"errors": errors}
    store(app_id, checked)
    return 202, {"accepted": len(checked)}


# -- alarms ----------------------------------------------------------------------------------------
def public_alarm(item: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in item.items() if k not in ("kind",)}
    return {**shown, "state": item.get("state", "INSUFFICIENT_DATA"), "stateReason": item.get("stateReason", "")}


@api.post("/api/alarms", auth=True)
def create_alarm(req: Request) -> Any:
    try:
        item = definition_of(body_of(req))
    except ValidationError as bad:
        raise HTTPError(400, str(bad)) from None
    if applications.get(item["applicationId"]) is None:
        raise HTTPError(400, f"no application {item['applicationId']!r}")
    item.update(kind="alarm", state="INSUFFICIENT_DATA", stateReason="Unchecked: Initial alarm creation")
    try:
        alarm_defs.put(item, if_absent=True)
    except ConditionFailed:
        raise HTTPError(409, f"alarm {item['name']!r} exists") from None
    evaluator.run([item])
    return 201, public_alarm(alarm_defs.get(item["name"]) or item)


@api.get("/api/alarms", auth=True)
def get_alarms(req: Request) -> Any:
    return {"alarms": [public_alarm(a) for a in alarm_defs.iterate("alarm", index="all", page_size=1000)]}


@api.delete("/api/alarms/{name}", auth=True)
def delete_alarm(req: Request, name: str) -> Any:
    if alarm_defs.delete(name) is None:
        raise HTTPError(404, f"no alarm {name!r}")
    return 204, None


@api.post("/api/alarms/{name}/subscribe", auth=True)
def subscribe_alarm(req: Request, name: str) -> Any:
    if alarm_defs.get(name) is None:
        raise HTTPError(404, f"no alarm {name!r}")
    try:
        sub = notifications.subscribe_email(text(body_of(req), "email"), filter={"alarm": [name]})
    except ValidationError as bad:
        raise HTTPError(400, str(bad)) from None
    return 201, {"subscriptionArn": sub.arn, "status": sub.status}


# -- reports ---------------------------------------------------------------------------------------
@api.post("/api/reports/run", groups=ADMINS)
def run_report(req: Request) -> Any:
    name = f"manual-{strato.new_id()}"
    return 202, {"executionArn": hourly.start({"requestedBy": req.claims.get("email")}, name=name), "reportId": name}


@api.get("/api/reports", auth=True)
def get_reports(req: Request) -> Any:
    return {
        "reports": [
            {"reportId": e.name, "status": e.status, "startedAt": e.start_date, "stoppedAt": e.stop_date}
            for e in hourly.executions(limit=100)
        ]
    }


@api.get("/api/reports/{id}", auth=True)
def get_report(req: Request, id: str) -> Any:
    if not 1 <= len(id) <= 80 or not id.replace("-", "").replace("_", "").isalnum():
        raise HTTPError(400, "a report id is an execution name")
    try:
        return json.loads(report_files.get(f"reports/{id}.json"))
    except NotFound:
        raise HTTPError(404, f"no report {id!r} (yet)") from None


handler = app.lambda_handler
