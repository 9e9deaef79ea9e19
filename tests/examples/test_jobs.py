"""examples/jobs end to end: `strato dev --no-worker` for the API plus a separate `strato worker`."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from strato.topic.envelope import verify
from tests.conftest import ROOT, start_dev_server, stop
from tests.test_topic_local import Receiver
from tests.test_worker import wait_until

APP = "examples/jobs/app.py"
ANA, BOB = {"x-dev-user-id": "ana"}, {"x-dev-user-id": "bob"}
ENV = {"JOBS_RETRY_SECONDS": "1", "STRATO_DELIVERY_BACKOFF": "0.05"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    data = tmp_path_factory.mktemp("jobs") / "data"
    server = start_dev_server(APP, data, "--no-worker", env=ENV)
    worker = subprocess.Popen(
        [sys.executable, "-m", "strato.cli", "worker", APP, "--data", str(data), "--poll-wait", "0.2"],
        cwd=ROOT,
        env={**os.environ, "STRATO_PROVIDER": "local", **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # up and handling SIGTERM before any test runs (a fast module could stop it while it still imports)
    assert b"strato worker" in worker.stderr.readline()
    client = httpx.Client(base_url=server.url, timeout=15)
    yield client, server, data
    client.close()
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err.decode()[-2000:]
    stop(server.proc)


def finished(client, path: str, headers: dict, timeout: float = 20) -> dict:
    result = {}

    def done() -> bool:
        result.update(client.get(path, headers=headers).json())
        return result.get("status") in ("completed", "failed")

    assert wait_until(done, timeout, 0.1), result
    return result


def submit(client, prompt: str, headers=ANA, kind: str = "api", project: str = "shop") -> dict:
    response = client.post(
        "/api/code-gen", json={"projectId": project, "type": kind, "prompt": prompt}, headers=headers
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    return response.json()


def test_code_generation_produces_a_runnable_project(service, tmp_path):
    client, _, _ = service
    job = submit(client, "Create a REST API for users, orders and products")
    done = finished(client, f"/api/code-gen/{job['id']}", ANA)
    assert done["status"] == "completed" and done["attempts"] == 1 and done["completedAt"]
    link = client.get(f"/api/code-gen/{job['id']}/download-url", headers=ANA).json()
    assert link["expiresAt"].endswith("Z")
    archive = httpx.get(link["url"]).content
    zipfile.ZipFile(io.BytesIO(archive)).extractall(tmp_path)
    source = (tmp_path / "shop" / "app.py").read_text()
    assert '"users", "orders", "products"' in source
    tests = subprocess.run(
        [sys.executable, "-m", "unittest", "-v"], cwd=tmp_path / "shop", capture_output=True, text=True, timeout=60
    )
    assert tests.returncode == 0 and "Ran 2 tests" in tests.stderr, tests.stderr
    redirect = client.get(f"/api/code-gen/{job['id']}/download", headers=ANA)
    assert redirect.status_code == 302 and httpx.get(redirect.headers["location"]).content == archive


def test_other_kinds_pagination_and_isolation(service):
    client, _, _ = service
    jobs = [
        submit(client, f"A dashboard for invoices {i}", headers=BOB, kind=kind, project=f"p{i}")
        for i, kind in enumerate(["frontend", "infra", "api"])
    ]
    for job in jobs:
        assert finished(client, f"/api/code-gen/{job['id']}", BOB)["status"] == "completed"
    first = client.get("/api/code-gen?limit=2", headers=BOB).json()
    rest = client.get(f"/api/code-gen?limit=2&cursor={first['cursor']}", headers=BOB).json()
    assert [j["id"] for j in first["items"] + rest["items"]] == [j["id"] for j in reversed(jobs)]
    assert client.get(f"/api/code-gen/{jobs[0]['id']}", headers=ANA).status_code == 404
    assert all(j["id"] not in {x["id"] for x in jobs} for j in client.get("/api/code-gen", headers=ANA).json()["items"])


def test_failing_job_retries_lands_in_the_dlq_and_notifies(service):
    client, server, _ = service
    hook = Receiver()
    try:
        email = client.post(
            "/api/notifications/subscribe/email",
            headers=ANA,
            json={"endpoint": "ana@example.com", "events": ["failed"]},
        ).json()
        webhook = client.post(
            "/api/notifications/subscribe/webhook", headers=ANA, json={"endpoint": hook.url, "events": ["failed"]}
        ).json()
        assert email["status"] == webhook["status"] == "pending"
        assert wait_until(lambda: len(hook.requests) == 1, 10)
        confirmation = verify(hook.requests[0][1], allow_local=True)
        assert httpx.get(confirmation["SubscribeURL"]).status_code == 200
        link = next(
            m
            for m in client.get("/_strato/outbox", headers=server.secret_headers).json()
            if m["endpoint"] == "ana@example.com" and m["kind"] == "confirmation"
        )
        assert httpx.get(link["message"].rsplit("\n", 1)[1]).status_code == 200

        ok = submit(client, "An API for books")
        bad = submit(client, "Please fail on purpose")
        assert finished(client, f"/api/code-gen/{ok['id']}", ANA)["status"] == "completed"
        failed = finished(client, f"/api/code-gen/{bad['id']}", ANA, timeout=30)
        assert failed["status"] == "failed" and "fail" in failed["error"] and failed["attempts"] == 3
        status = client.get("/api/admin/queue-status", headers=ANA).json()["queues"]["codegen"]
        assert wait_until(
            lambda: client.get("/api/admin/queue-status", headers=ANA).json()["queues"]["codegen"]["dlqDepth"] == 1, 10
        ), status

        def failed_mail() -> list:
            return [
                m
                for m in client.get("/_strato/outbox", headers=server.secret_headers).json()
                if m["endpoint"] == "ana@example.com" and m["kind"] == "notification"
            ]

        assert wait_until(lambda: len(failed_mail()) == 1, 10)
        assert json.loads(failed_mail()[0]["message"])["id"] == bad["id"]  # the completed job sent no mail
        assert wait_until(lambda: len(hook.requests) == 2, 10)
        notice = verify(hook.requests[1][1], allow_local=True)
        assert json.loads(notice["Message"])["status"] == "failed"
        assert notice["MessageAttributes"]["user"]["Value"] == "ana"
        mine = client.get("/api/notifications", headers=ANA).json()["items"]
        assert {s["arn"] for s in mine} == {email["subscriptionArn"], webhook["subscriptionArn"]}
        assert (
            client.request(
                "DELETE",
                "/api/notifications/unsubscribe",
                headers=BOB,
                json={"subscriptionArn": email["subscriptionArn"]},
            ).status_code
            == 404
        )
        assert (
            client.request(
                "DELETE",
                "/api/notifications/unsubscribe",
                headers=ANA,
                json={"subscriptionArn": email["subscriptionArn"]},
            ).status_code
            == 204
        )
    finally:
        hook.close()


def test_deployments_lifecycle(service):
    client, _, _ = service
    source = finished(client, f"/api/code-gen/{submit(client, 'An API for tickets')['id']}", ANA)
    deployment = client.post(
        "/api/deployments", headers=ANA, json={"codeGenId": source["id"], "environment": "staging"}
    ).json()
    done = finished(client, f"/api/deployments/{deployment['id']}", ANA)
    assert done["status"] == "completed" and done["url"] == "https://shop-staging.deploy.invalid"
    broken = client.post("/api/deployments", headers=ANA, json={"codeGenId": "nope"}).json()
    failed = finished(client, f"/api/deployments/{broken['id']}", ANA)
    assert failed["status"] == "failed" and "not completed" in failed["error"]
    assert len(client.get("/api/deployments", headers=ANA).json()["items"]) >= 2
    assert client.delete(f"/api/deployments/{broken['id']}", headers=ANA).status_code == 204
    assert client.get(f"/api/deployments/{broken['id']}", headers=ANA).status_code == 404


def test_delete_removes_the_archive(service):
    client, _, _ = service
    job = finished(client, f"/api/code-gen/{submit(client, 'An API for notes')['id']}", ANA)
    url = client.get(f"/api/code-gen/{job['id']}/download-url", headers=ANA).json()["url"]
    assert client.delete(f"/api/code-gen/{job['id']}", headers=ANA).status_code == 204
    assert httpx.get(url).status_code == 404
    assert client.get(f"/api/code-gen/{job['id']}", headers=ANA).status_code == 404


def test_live_status_over_the_websocket(service):
    client, server, _ = service
    with connect(f"{server.url.replace('http', 'ws')}/ws/live?user=ana") as ws:
        job = submit(client, "An API for songs")
        statuses = []
        while "completed" not in statuses:
            update = json.loads(ws.recv(timeout=10))
            if update["id"] == job["id"]:
                statuses.append(update["status"])
        assert statuses == ["queued", "generating", "completed"]


@pytest.mark.parametrize(
    "method,path,body,headers,status",
    [
        ("POST", "/api/code-gen", {"projectId": "p", "type": "api", "prompt": "x"}, {}, 401),
        ("POST", "/api/code-gen", {"projectId": "p", "type": "mobile", "prompt": "x"}, ANA, 400),
        ("POST", "/api/code-gen", {"projectId": "bad id!", "type": "api", "prompt": "x"}, ANA, 400),
        ("POST", "/api/code-gen", {"projectId": "p", "type": "api", "prompt": ""}, ANA, 400),
        ("POST", "/api/code-gen", [1, 2], ANA, 400),
        ("GET", "/api/code-gen/unknown", None, ANA, 404),
        ("GET", "/api/code-gen?limit=0", None, ANA, 400),
        ("POST", "/api/deployments", {"environment": "moon"}, ANA, 400),
        ("POST", "/api/notifications/subscribe/pigeon", {"endpoint": "x"}, ANA, 404),
        ("POST", "/api/notifications/subscribe/email", {"endpoint": "not-an-email"}, ANA, 400),
        ("POST", "/api/notifications/subscribe/email", {"endpoint": "a@b.c", "events": ["nope"]}, ANA, 400),
    ],
)
def test_bad_requests(service, method, path, body, headers, status):
    client, _, _ = service
    assert client.request(method, path, json=body, headers=headers).status_code == status


def test_malformed_json_and_early_download(service):
    client, _, _ = service
    response = client.post("/api/code-gen", content=b"{oops", headers=ANA)
    assert response.status_code == 400 and "malformed JSON" in response.json()["message"]
    job = submit(client, "An API for slow things")
    early = client.get(f"/api/code-gen/{job['id']}/download-url", headers=ANA)
    assert early.status_code in (200, 409)


def test_concurrent_submissions_all_finish(service):
    client, server, _ = service

    def one(i: int) -> str:
        with httpx.Client(base_url=server.url, timeout=15) as c:
            prompt = f"An API for widgets {i}" + (" fail" if i % 25 == 0 else "")
            return c.post(
                "/api/code-gen",
                headers={"x-dev-user-id": f"load{i % 10}"},
                json={"projectId": f"w{i}", "type": "api", "prompt": prompt},
            ).json()["id"]

    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(one, range(100)))
    for i, job_id in enumerate(ids):
        result = finished(client, f"/api/code-gen/{job_id}", {"x-dev-user-id": f"load{i % 10}"}, timeout=60)
        assert result["status"] == ("failed" if i % 25 == 0 else "completed")


def test_the_template_synthesises(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "strato.cli", "synth", APP, "-o", str(tmp_path / "t.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    template = json.loads((tmp_path / "t.json").read_text())
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert {
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::Lambda::Function",
        "AWS::ApiGatewayV2::Api",
    } <= kinds
    assert Path(tmp_path / "t.json").stat().st_size > 0
