"""jobs: an async code-generation and deployment job service on strato.

An API accepts jobs, queues them, a worker runs them (offline, deterministic generation), results
are stored as ZIP objects, users are notified (email / SMS / signed webhooks through a topic, live
status over a WebSocket). Run it:  strato dev examples/jobs/app.py
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import strato
from strato import HTTPError, Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generator import GENERATORS, generate

log = logging.getLogger("jobs")
RETRY_S = int(os.environ.get("JOBS_RETRY_SECONDS", "30"))  # visibility timeout: how soon a failed job retries
MAX_ATTEMPTS = 3
DOWNLOAD_URL_S = 900
EVENTS = ("queued", "generating", "deploying", "completed", "failed")

app = strato.App("jobs")
codegen_jobs = app.table("codegen", key="user_id", sort="id")
deployments = app.table("deployments", key="user_id", sort="id")
subscriptions = app.table("subscriptions", key="user_id", sort="arn")
archives = app.bucket("archives", expire_after_days=30)
codegen_queue = app.queue("codegen-jobs", visibility_timeout=RETRY_S, max_receive_count=MAX_ATTEMPTS)
deploy_queue = app.queue("deployment-jobs", visibility_timeout=RETRY_S, max_receive_count=MAX_ATTEMPTS)
events = app.topic("job-events")
live = app.websocket("live", index=["user"])
api = app.http(cors=strato.Cors(allow_headers=["content-type", "authorization", "x-dev-user-id"]))


# -- helpers ---------------------------------------------------------------------------------------
def caller(req: Request) -> str:
    """The verified JWT subject when auth is on, else the x-dev-user-id header (local development)."""
    user = req.claims.get("sub") or req.headers.get("x-dev-user-id")
    if not user or len(user) > 128:
        raise HTTPError(401, "send an x-dev-user-id header (or a bearer token when auth is on)")
    return user


def body_of(req: Request) -> dict:
    data = req.json()
    if not isinstance(data, dict):
        raise HTTPError(400, "send a JSON object")
    return data


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(strato.now()))


def page_args(req: Request) -> tuple[int, str | None]:
    limit = req.query.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        raise HTTPError(400, "limit must be an integer from 1 to 100")
    return int(limit), req.query.get("cursor")


def public(job: dict) -> dict:
    return {k: v for k, v in job.items() if k != "user_id"}


def announce(job: dict, kind: str) -> None:
    """Publish the status change (notifications) and push it to the user's open WebSockets."""
    events.publish(
        {"kind": kind, **public(job)},
        subject=f"{kind} {job['id']} {job['status']}"[:100],
        attributes={"event": job["status"], "user": job["user_id"], "kind": kind},
    )
    try:
        live.broadcast({"kind": kind, **public(job)}, where={"user": job["user_id"]})
    except strato.StratoError as exc:  # nobody listening, or no dev server: the job itself is unaffected
        log.info("live update for %s not delivered: %s", job["id"], exc)


# -- code generation ---------------------------------------------------------------------------------
@api.post("/api/code-gen")
def create_codegen(req: Request):
    user, data = caller(req), body_of(req)
    project, kind, prompt = data.get("projectId"), data.get("type"), data.get("prompt")
    if not isinstance(project, str) or not project.replace("-", "").replace("_", "").isalnum() or len(project) > 64:
        raise HTTPError(400, "projectId must be 1-64 letters, digits, '-' or '_'")
    if kind not in GENERATORS:
        raise HTTPError(400, f"type must be one of {sorted(GENERATORS)}")
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > 4000:
        raise HTTPError(400, "prompt must be a non-empty string of at most 4000 characters")
    job = {
        "user_id": user,
        "id": strato.new_id(),
        "projectId": project,
        "type": kind,
        "prompt": prompt,
        "status": "queued",
        "createdAt": now_iso(),
        "updatedAt": now_iso(),
        "attempts": 0,
    }
    codegen_jobs.put(job, if_absent=True)
    announce(job, "code-gen")  # before the send: a fast worker's "generating" must not overtake "queued"
    codegen_queue.send({"userId": user, "id": job["id"]})
    return 202, public(job)


@api.get("/api/code-gen")
def list_codegen(req: Request):
    limit, cursor = page_args(req)
    page = codegen_jobs.query(caller(req), newest_first=True, limit=limit, cursor=cursor)
    return {"items": [public(j) for j in page.items], "cursor": page.cursor}


def own_codegen(req: Request, job_id: str) -> dict:
    job = codegen_jobs.get((caller(req), job_id))
    if job is None:
        raise HTTPError(404, f"code generation {job_id} not found")
    return job


@api.get("/api/code-gen/{id}")
def get_codegen(req: Request, id: str):
    return public(own_codegen(req, id))


@api.delete("/api/code-gen/{id}")
def delete_codegen(req: Request, id: str):
    job = own_codegen(req, id)
    if job.get("archiveKey"):
        archives.delete(job["archiveKey"])
    codegen_jobs.delete((job["user_id"], id))
    return None


@api.get("/api/code-gen/{id}/download-url")
def download_url(req: Request, id: str):
    job = own_codegen(req, id)
    if job["status"] != "completed":
        raise HTTPError(409, f"code generation {id} is {job['status']}, not completed")
    return {
        "url": archives.presign_get(job["archiveKey"], expires_in=DOWNLOAD_URL_S),
        "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(strato.now() + DOWNLOAD_URL_S)),
    }


@api.get("/api/code-gen/{id}/download")
def download(req: Request, id: str):
    return Response.redirect(download_url(req, id)["url"])


@codegen_queue.consumer(batch_size=5, max_concurrency=2)
def run_codegen(msg: strato.queue.Message) -> None:
    ref = msg.json()
    key = (ref["userId"], ref["id"])
    job = codegen_jobs.get(key)
    if job is None or job["status"] in ("completed", "failed"):
        return  # deleted meanwhile, or a redelivery of finished work
    job = codegen_jobs.update(
        key, set={"status": "generating", "updatedAt": now_iso(), "startedAt": now_iso()}, add={"attempts": 1}
    )
    announce(job, "code-gen")
    try:
        if "fail" in job["prompt"].lower().split():
            raise RuntimeError("the prompt asked for a failure (the word 'fail')")
        archive = generate(job["projectId"], job["type"], job["prompt"])
        archive_key = f"code-gen/{job['user_id']}/{job['id']}.zip"
        archives.put(archive_key, archive, content_type="application/zip", metadata={"job": job["id"]})
    except Exception as exc:
        if msg.receive_count >= MAX_ATTEMPTS:  # last attempt: the message goes to the DLQ, the job fails
            job = codegen_jobs.update(key, set={"status": "failed", "error": str(exc), "updatedAt": now_iso()})
            announce(job, "code-gen")
        else:
            codegen_jobs.update(key, set={"status": "queued", "error": str(exc), "updatedAt": now_iso()})
        raise
    job = codegen_jobs.update(
        key,
        set={
            "status": "completed",
            "archiveKey": archive_key,
            "size": len(archive),
            "completedAt": now_iso(),
            "updatedAt": now_iso(),
        },
        remove=["error"],
    )
    announce(job, "code-gen")


# -- deployments ---------------------------------------------------------------------------------------
@api.post("/api/deployments")
def create_deployment(req: Request):
    user, data = caller(req), body_of(req)
    codegen_id, environment = data.get("codeGenId"), data.get("environment", "dev")
    if not isinstance(codegen_id, str) or not codegen_id:
        raise HTTPError(400, "codeGenId (a completed code generation) is required")
    if environment not in ("dev", "staging", "production"):
        raise HTTPError(400, "environment must be dev, staging or production")
    job = {
        "user_id": user,
        "id": strato.new_id(),
        "codeGenId": codegen_id,
        "environment": environment,
        "status": "queued",
        "createdAt": now_iso(),
        "updatedAt": now_iso(),
        "attempts": 0,
    }
    deployments.put(job, if_absent=True)
    announce(job, "deployment")  # before the send: a fast worker's "generating" must not overtake "queued"
    deploy_queue.send({"userId": user, "id": job["id"]})
    return 202, public(job)


@api.get("/api/deployments")
def list_deployments(req: Request):
    limit, cursor = page_args(req)
    page = deployments.query(caller(req), newest_first=True, limit=limit, cursor=cursor)
    return {"items": [public(j) for j in page.items], "cursor": page.cursor}


@api.get("/api/deployments/{id}")
def get_deployment(req: Request, id: str):
    job = deployments.get((caller(req), id))
    if job is None:
        raise HTTPError(404, f"deployment {id} not found")
    return public(job)


@api.delete("/api/deployments/{id}")
def delete_deployment(req: Request, id: str):
    if deployments.delete((caller(req), id)) is None:
        raise HTTPError(404, f"deployment {id} not found")
    return None


@deploy_queue.consumer(batch_size=5)
def run_deployment(msg: strato.queue.Message) -> None:
    """A simulated, offline deployment: checks the archive and writes a deployment manifest."""
    ref = msg.json()
    key = (ref["userId"], ref["id"])
    job = deployments.get(key)
    if job is None or job["status"] in ("completed", "failed"):
        return
    job = deployments.update(key, set={"status": "deploying", "updatedAt": now_iso()}, add={"attempts": 1})
    announce(job, "deployment")
    source = codegen_jobs.get((job["user_id"], job["codeGenId"]))
    if source is None or source["status"] != "completed":
        job = deployments.update(
            key,
            set={
                "status": "failed",
                "updatedAt": now_iso(),
                "error": f"code generation {job['codeGenId']} is not completed",
            },
        )
        announce(job, "deployment")  # a deterministic failure: retrying would not help
        return
    info = archives.head(source["archiveKey"])
    manifest = {
        "deployment": job["id"],
        "environment": job["environment"],
        "archive": source["archiveKey"],
        "etag": info.etag,
        "url": f"https://{source['projectId']}-{job['environment']}.deploy.invalid",
    }
    archives.put(
        f"deployments/{job['user_id']}/{job['id']}.json", json.dumps(manifest), content_type="application/json"
    )
    job = deployments.update(
        key, set={"status": "completed", "url": manifest["url"], "completedAt": now_iso(), "updatedAt": now_iso()}
    )
    announce(job, "deployment")


# -- notifications --------------------------------------------------------------------------------------
@api.post("/api/notifications/subscribe/{channel}")
def subscribe(req: Request, channel: str):
    user, data = caller(req), body_of(req)
    protocol = {"email": "email", "sms": "sms", "webhook": None}.get(channel, "unknown")
    if protocol == "unknown":
        raise HTTPError(404, "channels are email, sms and webhook")
    endpoint = data.get("endpoint")
    wanted = data.get("events") or list(EVENTS)
    if not isinstance(wanted, list) or any(e not in EVENTS for e in wanted):
        raise HTTPError(400, f"events must be a list drawn from {list(EVENTS)}")
    if not isinstance(endpoint, str):
        raise HTTPError(400, "endpoint is required")
    policy = {"user": [user], "event": wanted}
    if protocol is None:
        sub = events.subscribe_webhook(endpoint, filter=policy)
    else:
        sub = events.add_subscription(protocol, endpoint, filter=policy)
    subscriptions.put(
        {"user_id": user, "arn": sub.arn, "protocol": sub.protocol, "endpoint": sub.endpoint, "events": wanted}
    )
    return 201, {
        "subscriptionArn": sub.arn,
        "protocol": sub.protocol,
        "endpoint": sub.endpoint,
        "status": sub.status,
        "events": wanted,
    }


@api.delete("/api/notifications/unsubscribe")
def unsubscribe(req: Request):
    user, data = caller(req), body_of(req)
    arn = data.get("subscriptionArn")
    if not isinstance(arn, str) or subscriptions.get((user, arn)) is None:
        raise HTTPError(404, "no such subscription of yours (send its subscriptionArn)")
    events.unsubscribe(arn)
    subscriptions.delete((user, arn))
    return None


@api.get("/api/notifications")
def my_subscriptions(req: Request):
    return {"items": list(subscriptions.iterate(caller(req)))}


# -- operations --------------------------------------------------------------------------------------------
@api.get("/api/admin/queue-status")
def queue_status(req: Request):
    caller(req)
    out = {}
    for name, queue in (("codegen", codegen_queue), ("deployments", deploy_queue)):
        stats = queue.stats()
        out[name] = {
            "depth": stats.depth,
            "inFlight": stats.in_flight,
            "delayed": stats.delayed,
            "oldestAgeSeconds": stats.oldest_age,
            "dlqDepth": stats.dlq_depth,
        }
    return {"queues": out}


@api.get("/healthz")
def healthz(req: Request):
    return {"ok": True, "service": "jobs"}


@live.on_connect
def connect(conn: strato.websocket.Connection) -> None:
    user = conn.claims.get("sub") or conn.query.get("user")
    if not user:
        raise HTTPError(401, "connect with ?user=<id> locally (or a token when auth is on)")
    conn.data["user"] = user


handler = app.lambda_handler
