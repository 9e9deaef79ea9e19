"""examples/analytics end to end (issue 23's contract): `strato dev --no-worker` for the API plus a separate
`strato worker` (change stream, alarms, the report workflow), over real HTTP and WebSocket, with the gql
client for GraphQL (queries over HTTP, subscriptions over graphql-transport-ws at ws://HOST/graphql)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pyotp
import pytest
from examples.analytics.admin import create_user
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport
from gql.transport.websockets import WebsocketsTransport

from strato.loader import load_app
from tests.conftest import ROOT, start_dev_server, stop
from tests.test_graphql_dev import collect as graphql_collect
from tests.test_worker import wait_until

APP = "examples/analytics/app.py"
PASSWORD = "Corr3ct-horse-battery!"
ADMIN, ANALYST, MFA_USER = "admin@example.com", "ana@example.com", "tess@example.com"
GET_METRICS = """query($app: String!, $name: String!, $start: String!, $end: String!, $g: Granularity,
  $dims: [DimensionInput!]) {
  getMetrics(applicationId: $app, metricType: $name, startTime: $start, endTime: $end, granularity: $g,
             dimensions: $dims) {
    unit datapoints { timestamp average sum minimum maximum sampleCount p50 p95 p99 } } }"""
WATCH = """subscription($app: String!, $names: [String!]) {
  metricUpdates(applicationId: $app, metricTypes: $names) {
    applicationId metricName value unit dimensions timestamp } }"""
ALARMS = "subscription { alarmUpdates { name applicationId state oldState stateReason } }"


def admin_cli(data, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "examples.analytics.admin", "--data", str(data), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "STRATO_PROVIDER": "local"},
    )


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    data = tmp_path_factory.mktemp("analytics") / "data"
    done = admin_cli(data, "create-user", ADMIN, "--password", PASSWORD, "--group", "admins")  # the CLI itself
    assert done.returncode == 0 and done.stdout.strip() == f"created {ADMIN} in admins", done.stderr
    old = os.environ.get("STRATO_DATA_DIR")
    os.environ["STRATO_DATA_DIR"] = str(data)
    os.environ["ANALYTICS_ADMIN"] = "1"  # as the admin CLI: this process makes users
    app = load_app(APP, fresh=True)  # the same data: the other users, and the outbox to read
    for email in (ANALYST, MFA_USER):
        create_user(app, email, PASSWORD, [])
    server = start_dev_server(APP, data, "--no-worker")
    worker = subprocess.Popen(
        [sys.executable, "-m", "strato.cli", "worker", APP, "--data", str(data), "--poll-wait", "0.2"],
        cwd=ROOT,
        env={**os.environ, "STRATO_PROVIDER": "local"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert b"strato worker" in worker.stderr.readline()
    client = httpx.Client(base_url=server.url, timeout=15)
    yield client, server, app
    app.close()
    os.environ.pop("ANALYTICS_ADMIN", None)
    if old is None:
        os.environ.pop("STRATO_DATA_DIR", None)
    else:
        os.environ["STRATO_DATA_DIR"] = old
    client.close()
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err.decode()[-2000:]
    stop(server.proc)


def login(client, email: str) -> dict:
    answer = client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()


def bearer(tokens: dict) -> dict:
    return {"authorization": f"Bearer {tokens['idToken']}"}


@pytest.fixture(scope="module")
def admin(service):
    return bearer(login(service[0], ADMIN))


@pytest.fixture(scope="module")
def analyst(service):
    return bearer(login(service[0], ANALYST))


def register(client, admin, app_id: str) -> str:
    made = client.post("/api/applications", json={"applicationId": app_id}, headers=admin)
    assert made.status_code == 201, made.text
    return made.json()["apiKey"]


def gql_http(server, headers: dict) -> Client:
    transport = RequestsHTTPTransport(url=f"{server.url}/graphql", headers=headers, timeout=15)
    return Client(transport=transport)


def ws_transport(server, headers: dict) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=server.url.replace("http://", "ws://") + "/graphql",  # the contract's URL: the GraphQL path itself
        init_payload={"Authorization": headers["authorization"]},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        ack_timeout=15,
    )


def collect(server, app, headers, query, variables, count, trigger, field) -> list[dict]:
    """Subscribe over ws://HOST/graphql, run ``trigger`` once the subscription is stored, return the first
    ``count`` results (test_graphql_dev's helper with this app's transport)."""
    transport = ws_transport(server, headers)
    return graphql_collect(server, None, variables, count, trigger, app, query=query, field=field, transport=transport)


# -- sign-in ---------------------------------------------------------------------------------------
def test_login_refresh_and_wrong_credentials(service):
    client = service[0]
    tokens = login(client, ADMIN)
    assert set(tokens) == {"idToken", "accessToken", "refreshToken", "expiresIn"} and tokens["expiresIn"] == 3600
    again = client.post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert again.status_code == 200 and again.json()["idToken"] and again.json()["refreshToken"]
    for body in (
        {"email": ADMIN, "password": "Wrong-horse-battery1!"},
        {"email": "no@example.com", "password": PASSWORD},
    ):
        refused = client.post("/auth/login", json=body)
        assert refused.status_code == 401 and refused.json()["message"] == "Incorrect username or password."
    assert client.post("/auth/refresh", json={"refreshToken": "nope"}).status_code == 401
    assert client.post("/auth/login", json={"email": ADMIN}).status_code == 400
    assert client.post("/auth/login", content=b"{not json").status_code == 400


def test_the_admin_cli_enforces_the_password_policy(service, tmp_path):
    done = admin_cli(tmp_path / "data", "create-user", "weak@example.com", "--password", "Short1!")
    assert done.returncode == 1 and "InvalidPasswordException" in done.stderr and "12 characters" in done.stderr
    done = admin_cli(tmp_path / "data", "create-user", "not-an-email", "--password", PASSWORD)
    assert done.returncode == 1 and "not an email address" in done.stderr


def test_totp_enrolment_then_sign_in_with_a_code(service):
    client = service[0]
    tokens = login(client, MFA_USER)
    setup = client.post("/auth/totp/setup", json={"accessToken": tokens["accessToken"]}, headers=bearer(tokens))
    assert setup.status_code == 200 and setup.json()["uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(setup.json()["secretCode"])
    verify = {"accessToken": tokens["accessToken"], "code": totp.now()}
    assert client.post("/auth/totp/verify", json=verify, headers=bearer(tokens)).json() == {"enabled": True}
    challenge = client.post("/auth/login", json={"email": MFA_USER, "password": PASSWORD}).json()
    assert challenge["challenge"] == "SOFTWARE_TOKEN_MFA" and challenge["session"]
    wrong = client.post("/auth/mfa", json={"session": challenge["session"], "code": "000000"})
    assert wrong.status_code == 401
    assert client.post("/auth/mfa", json={"session": "garbage", "code": "1"}).status_code == 401
    code = totp.at(time.time() + 30)  # the enrolment used this window's code: a code signs in once
    answer = client.post("/auth/mfa", json={"session": challenge["session"], "code": code})
    assert answer.status_code == 200, answer.text
    assert client.get("/api/applications", headers=bearer(answer.json())).status_code == 200


# -- applications ------------------------------------------------------------------------------------
def test_applications_need_a_token_and_admins_create_them(service, admin, analyst):
    client = service[0]
    assert client.get("/api/applications").status_code == 401
    assert client.post("/api/applications", json={"applicationId": "x"}, headers=analyst).status_code == 403
    key = register(client, admin, "shop-web")
    assert key.startswith("ak_")
    assert client.post("/api/applications", json={"applicationId": "shop-web"}, headers=admin).status_code == 409
    for bad in ("", "has space", "x" * 65, 7):
        assert client.post("/api/applications", json={"applicationId": bad}, headers=admin).status_code == 400
    listed = client.get("/api/applications", headers=analyst).json()["applications"]
    assert "shop-web" in [a["applicationId"] for a in listed]
    assert client.delete("/api/applications/shop-web", headers=analyst).status_code == 403
    assert client.delete("/api/applications/shop-web", headers=admin).status_code == 204
    assert client.delete("/api/applications/shop-web", headers=admin).status_code == 404
    gone = client.post(
        "/api/metrics", json={"applicationId": "shop-web", "metricName": "a", "value": 1}, headers={"x-api-key": key}
    )
    assert gone.status_code == 401  # a deleted application's key stops working


# -- ingest ----------------------------------------------------------------------------------------
def test_ingest_refuses_bad_keys_and_bad_items_storing_nothing(service, admin, analyst):
    client, server, _ = service
    key = register(client, admin, "billing")
    other = register(client, admin, "other-app")
    point = {"applicationId": "billing", "metricName": "refused", "value": 1}
    assert client.post("/api/metrics", json=point).status_code == 401
    assert client.post("/api/metrics", json=point, headers={"x-api-key": "ak_wrong"}).status_code == 401
    assert client.post("/api/metrics", json=point, headers={"x-api-key": other}).status_code == 400  # not its app
    old = int((time.time() - 15 * 86400) * 1000)
    batch = {
        "metrics": [
            point,
            {**point, "value": "1"},
            {**point, "unit": "Furlongs"},
            {**point, "timestamp": old},
            {**point, "timestamp": "yesterday"},
            {**point, "dimensions": {f"d{i}": "x" for i in range(11)}},
            {**point, "dimensions": {"ApplicationId": "other"}},
            {**point, "metricName": ""},
        ]
    }
    refused = client.post("/api/metrics", json=batch, headers={"x-api-key": key})
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert [e["index"] for e in errors] == [1, 2, 3, 4, 5, 6, 7]
    assert "finite number" in errors[0]["message"] and "CloudWatch unit" in errors[1]["message"]
    assert "14 days" in errors[2]["message"]
    nan = b'{"applicationId": "billing", "metricName": "refused", "value": NaN}'
    assert client.post("/api/metrics", content=nan, headers={"x-api-key": key}).status_code == 400
    too_many = {"metrics": [point] * 1001}
    assert client.post("/api/metrics", json=too_many, headers={"x-api-key": key}).status_code == 400
    with gql_http(server, analyst) as session:  # the valid first item of the refused batch was not stored
        assert session.execute(GraphQLRequest('{ listMetrics(applicationId: "billing") { metricName } }')) == {
            "listMetrics": []
        }


def test_ingest_then_history_with_cloudwatch_statistics(service, admin, analyst):
    client, server, _ = service
    key = register(client, admin, "checkout")
    minute = (time.time() // 60 - 3) * 60  # a complete minute in the past
    batch = [
        {
            "applicationId": "checkout",
            "metricName": "latency",
            "value": v,
            "unit": "Milliseconds",
            "dimensions": {"route": "/buy"},
            "timestamp": int((minute + v / 10) * 1000),
        }
        for v in range(1, 101)
    ]
    accepted = client.post("/api/metrics", json={"metrics": batch}, headers={"x-api-key": key})
    assert accepted.status_code == 202 and accepted.json() == {"accepted": 100}
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(minute))
    variables = {
        "app": "checkout",
        "name": "latency",
        "start": iso,
        "end": str(int((minute + 60) * 1000)),
        "g": "MINUTE",
        "dims": [{"name": "route", "value": "/buy"}],
    }
    with gql_http(server, analyst) as session:
        answer = session.execute(GraphQLRequest(GET_METRICS, variable_values=variables))["getMetrics"]
        assert answer["unit"] == "Milliseconds"
        [point] = answer["datapoints"]
        assert point["timestamp"].startswith(iso[:-1]) and point["sampleCount"] == 100
        assert (point["sum"], point["minimum"], point["maximum"], point["average"]) == (5050, 1, 100, 50.5)
        # CloudWatch percentiles: within 1 % of the nearest-rank value
        assert math.isclose(point["p50"], 50, rel_tol=0.02) and math.isclose(point["p99"], 99, rel_tol=0.02)
        # a metric is its name plus its exact dimension set: without the route it is another metric
        assert (
            session.execute(GraphQLRequest(GET_METRICS, variable_values={**variables, "dims": []}))["getMetrics"][
                "datapoints"
            ]
            == []
        )
        listed = session.execute(GraphQLRequest('{ listMetrics(applicationId: "checkout") { metricName dimensions } }'))
        assert listed == {"listMetrics": [{"metricName": "latency", "dimensions": {"route": "/buy"}}]}
        with pytest.raises(TransportQueryError, match="ISO-8601"):
            session.execute(GraphQLRequest(GET_METRICS, variable_values={**variables, "start": "soon"}))
        with pytest.raises(TransportQueryError, match="applicationId"):
            session.execute(GraphQLRequest(GET_METRICS, variable_values={**variables, "app": "no spaces"}))


def test_realtime_custom_metrics_and_cost(service, admin, analyst):
    client, server, _ = service
    key = register(client, admin, "realtime")
    for value in (3, 5, 10):
        body = {"applicationId": "realtime", "metricName": "queue_depth", "value": value, "unit": "Count"}
        assert client.post("/api/metrics", json=body, headers={"x-api-key": key}).status_code == 202
    with gql_http(server, analyst) as session:
        recorded = session.execute(
            GraphQLRequest(
                'mutation { recordCustomMetric(applicationId: "realtime", metricName: "signups", value: 2, '
                'unit: "Count") '
                "{ accepted metricName value } }"
            )
        )
        assert recorded == {"recordCustomMetric": {"accepted": 1, "metricName": "signups", "value": 2.0}}
        live = session.execute(
            GraphQLRequest(
                '{ getRealtimeMetrics(applicationId: "realtime") { metrics { metricName latest average minimum maximum '
                "sampleCount unit } } }"
            )
        )["getRealtimeMetrics"]["metrics"]
        assert live == [
            {
                "metricName": "queue_depth",
                "latest": 10.0,
                "average": 6.0,
                "minimum": 3.0,
                "maximum": 10.0,
                "sampleCount": 3,
                "unit": "Count",
            },
            {
                "metricName": "signups",
                "latest": 2.0,
                "average": 2.0,
                "minimum": 2.0,
                "maximum": 2.0,
                "sampleCount": 1,
                "unit": "Count",
            },
        ]
        with pytest.raises(TransportQueryError, match="CloudWatch unit"):
            session.execute(
                GraphQLRequest(
                    'mutation { recordCustomMetric(applicationId: "realtime", metricName: "x", value: 1, '
                    'unit: "Parsecs") '
                    "{ accepted } }"
                )
            )
        cost = session.execute(
            GraphQLRequest(
                '{ getCostAnalysis(startDate: "2026-01-01", endDate: "2026-01-31") '
                "{ totalUsd services { service usd } } }"
            )
        )["getCostAnalysis"]
        services = {s["service"]: s["usd"] for s in cost["services"]}
        assert {"dynamodb", "lambda", "apigateway"} <= set(services), services
        assert math.isclose(cost["totalUsd"], sum(services.values()))


# -- live updates ----------------------------------------------------------------------------------
def test_subscribers_get_each_ingested_datapoint_of_their_metrics(service, admin, analyst):
    client, server, app = service
    key = register(client, admin, "live-app")

    def ingest() -> None:
        batch = [
            {
                "applicationId": "live-app",
                "metricName": name,
                "value": v,
                "unit": "Percent",
                "dimensions": {"host": "a"},
            }
            for name, v in (("mem", 1), ("cpu", 40), ("cpu", 41.5))
        ]
        assert client.post("/api/metrics", json={"metrics": batch}, headers={"x-api-key": key}).status_code == 202

    got = collect(server, app, analyst, WATCH, {"app": "live-app", "names": ["cpu"]}, 2, ingest, "metricUpdates")
    assert [(g["metricUpdates"]["metricName"], g["metricUpdates"]["value"]) for g in got] == [
        ("cpu", 40),
        ("cpu", 41.5),
    ]
    assert got[0]["metricUpdates"]["dimensions"] == {"host": "a"} and got[0]["metricUpdates"]["unit"] == "Percent"


def test_a_subscription_without_a_token_is_refused(service):
    _, server, _ = service

    async def run() -> None:
        async with Client(transport=ws_transport(server, {"authorization": "Bearer not-a-token"})) as session:
            await session.execute(GraphQLRequest("{ __typename }"))

    with pytest.raises(Exception):  # noqa: B017 - closed before connection_ack: the gql error type varies
        asyncio.run(run())


# -- alarms ----------------------------------------------------------------------------------------
def test_an_alarm_fires_notifies_by_email_and_pushes_its_state(service, admin, analyst):
    client, server, app = service
    key = register(client, admin, "payments")
    alarm = {
        "name": "payments-errors",
        "applicationId": "payments",
        "metricName": "errors",
        "statistic": "Sum",
        "period": 60,
        "threshold": 10,
        "comparison": "GreaterThanThreshold",
        "evaluationPeriods": 1,
        "datapointsToAlarm": 1,
        "treatMissingData": "notBreaching",
    }
    assert client.post("/api/alarms", json={**alarm, "period": 45}, headers=analyst).status_code == 400
    assert client.post("/api/alarms", json={**alarm, "comparison": "Bigger"}, headers=analyst).status_code == 400
    assert client.post("/api/alarms", json={**alarm, "statistic": "p999x"}, headers=analyst).status_code == 400
    made = client.post("/api/alarms", json=alarm, headers=analyst)
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "OK"  # notBreaching: no data is not breaching
    assert client.post("/api/alarms", json=alarm, headers=analyst).status_code == 409
    sub = client.post("/api/alarms/payments-errors/subscribe", json={"email": "oncall@example.com"}, headers=analyst)
    assert sub.status_code == 201 and sub.json()["status"] == "pending"
    topic = app.resources[("topic", "alarm-notifications")]
    [confirmation] = [m for m in topic.outbox("email") if m["endpoint"] == "oncall@example.com"]
    link = re.search(r"\S*/_strato/sns/confirm\?\S+", confirmation["message"]).group(0)
    link = link if link.startswith("http") else server.url + link
    assert httpx.get(link, timeout=15).status_code == 200  # the confirmation link, as the email has it

    last_minute = (time.time() // 60 - 1) * 60 + 5  # in the newest complete period
    errors = [
        {"applicationId": "payments", "metricName": "errors", "value": 4, "timestamp": int(last_minute * 1000)}
    ] * 3

    def ingest() -> None:
        assert client.post("/api/metrics", json={"metrics": errors}, headers={"x-api-key": key}).status_code == 202

    [pushed] = collect(server, app, analyst, ALARMS, {}, 1, ingest, "alarmUpdates")
    assert pushed["alarmUpdates"]["name"] == "payments-errors"
    assert (pushed["alarmUpdates"]["oldState"], pushed["alarmUpdates"]["state"]) == ("OK", "ALARM")
    assert pushed["alarmUpdates"]["stateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [12")
    listed = {a["name"]: a for a in client.get("/api/alarms", headers=analyst).json()["alarms"]}
    assert listed["payments-errors"]["state"] == "ALARM"
    assert wait_until(lambda: any(m["kind"] == "notification" for m in topic.outbox("email")), 20, 0.1)
    [mail] = [m for m in topic.outbox("email") if m["kind"] == "notification"]
    assert (
        mail["endpoint"] == "oncall@example.com"
        and mail["subject"] == 'ALARM: "payments-errors" in US East (N. Virginia)'
    )
    message = json.loads(mail["message"])
    assert (message["OldStateValue"], message["NewStateValue"]) == ("OK", "ALARM")
    assert message["Trigger"]["MetricName"] == "errors" and message["Trigger"]["Namespace"] == "CentralAnalytics"
    assert client.delete("/api/alarms/payments-errors", headers=analyst).status_code == 204
    assert client.delete("/api/alarms/payments-errors", headers=analyst).status_code == 404


# -- reports ---------------------------------------------------------------------------------------
def test_the_report_workflow_stores_a_report_per_application(service, admin, analyst):
    client, _, _ = service
    key = register(client, admin, "reported")
    body = {"metrics": [{"applicationId": "reported", "metricName": f"m{i % 7}", "value": i} for i in range(70)]}
    assert client.post("/api/metrics", json=body, headers={"x-api-key": key}).status_code == 202
    assert client.post("/api/reports/run", headers=analyst).status_code == 403
    started = client.post("/api/reports/run", headers=admin)
    assert started.status_code == 202 and started.json()["executionArn"].startswith("arn:aws:states:")
    report_id = started.json()["reportId"]

    def status() -> str:
        found = [r for r in client.get("/api/reports", headers=analyst).json()["reports"] if r["reportId"] == report_id]
        return found[0]["status"] if found else ""

    assert wait_until(lambda: status() == "SUCCEEDED", 30, 0.1), status()
    report = client.get(f"/api/reports/{report_id}", headers=analyst).json()
    assert report["reportId"] == report_id and report["end"] - report["start"] == 3600
    mine = report["applications"]["reported"]
    assert mine["totals"] == {"datapoints": 70, "metrics": 7} and mine["alarmsFired"] == []
    assert [m["metricName"] for m in mine["topMetrics"]] == ["m0", "m1", "m2", "m3", "m4"]  # 10 each: by name
    assert mine["topMetrics"][0]["sum"] == sum(range(0, 70, 7)) and mine["topMetrics"][0]["sampleCount"] == 10
    assert client.get("/api/reports/nope", headers=analyst).status_code == 404
    assert client.get("/api/reports/bad%20id", headers=analyst).status_code == 400
