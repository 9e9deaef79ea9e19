"""Queues (depth, in flight, delayed, oldest age, DLQ depth; peek, purge, redrive) and topics
(subscriptions, pending and failing deliveries, the email/SMS outbox)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from ..core import clock
from .web import BadRequest, blocking, body, endpoint, field, query_int, resource


def _queue(queue: Any) -> dict[str, Any]:
    return {
        "name": queue.name,
        "physical": queue.physical_name,
        "provider": queue.provider,
        "fifo": queue.fifo,
        "visibility_timeout": queue.visibility_timeout,
        "max_receive_count": queue.max_receive_count,
        "dlq": queue.dlq.name if queue.dlq is not None else None,
        "dead_letter_for": queue.dead_letter_for.name if queue.dead_letter_for is not None else None,
        "consumers": len(queue.consumers),
        **queue.stats().as_dict(),
    }


@endpoint
async def queues(request: Request) -> Any:
    return await blocking(lambda: [_queue(q) for q in request.app.state.app.of_kind("queue")])


def _peek(queue: Any, limit: int) -> list[dict[str, Any]]:
    """Messages as they sit, oldest first, without receiving them (no receive count, no visibility change):
    the local provider's rows; SQS has no peek, so other providers are refused."""
    store = getattr(queue.backend, "store", None)
    if store is None or not hasattr(store, "db"):
        raise BadRequest(f"queue {queue.name!r} is on provider {queue.provider!r}, which has no peek", 409)
    now = clock.now()
    rows = store.db.conn.execute(
        "SELECT id, body, attributes, sent_at, visible_at, receive_count, grp FROM q_messages "
        "WHERE queue = ? AND expires_at > ? ORDER BY seq LIMIT ?",
        (queue.backend.name, now, limit),
    ).fetchall()
    out = []
    for mid, text, attrs, sent_at, visible_at, count, group in rows:
        state = "visible" if visible_at <= now else ("in_flight" if count else "delayed")
        out.append(
            {
                "id": mid,
                "body": text,
                "attributes": json.loads(attrs),
                "sent_at": sent_at,
                "visible_at": visible_at,
                "receive_count": count,
                "group": group,
                "state": state,
            }
        )
    return out


@endpoint
async def peek(request: Request) -> Any:
    queue = resource(request, "queue")
    return {"messages": await blocking(_peek, queue, query_int(request, "limit", 20, 1, 200))}


@endpoint
async def purge(request: Request) -> Any:
    queue = resource(request, "queue")
    await blocking(queue.purge)
    return {"purged": queue.name}


@endpoint
async def redrive(request: Request) -> Any:
    queue = resource(request, "queue")
    data = await body(request)
    limit = field(data, "limit", int, None)
    if limit is not None and limit < 1:
        raise BadRequest("limit must be a positive integer")
    if queue.dlq is None:
        raise BadRequest(f"queue {queue.name!r} has no DLQ (declare max_receive_count)", 409)
    moved = await blocking(queue.redrive, limit)
    return {"moved": moved, "from": queue.dlq.name, "to": queue.name}


@endpoint
async def send(request: Request) -> Any:
    queue = resource(request, "queue")
    data = await body(request)
    text = field(data, "body", str)
    group = field(data, "group", str, None)
    message_id = await blocking(lambda: queue.send(text, **({"group": group} if group else {})))
    return {"id": message_id}


def recent_deliveries(spans: list[Any], topic: str, limit: int = 20) -> list[dict[str, Any]]:
    """The topic's latest deliveries (its subscribers' hops: handlers and webhooks), from the span store."""
    found = [s for s in spans if s.kind in ("topic", "webhook") and s.resource == topic][:limit]
    return [
        {
            "at": s.start,
            "kind": s.kind,
            "to": s.handler,
            "outcome": s.outcome,
            "error": s.error,
            "duration": s.duration,
            "trace_id": s.trace_id,
        }
        for s in found
    ]


def _topic(topic: Any, spans: list[Any]) -> dict[str, Any]:
    subs = [s.as_dict() for s in topic.subscriptions()]
    pending: list[dict[str, Any]] = []
    store = getattr(topic.backend, "store", None)
    if store is not None and hasattr(store, "db"):
        rows = store.db.conn.execute(
            "SELECT seq, subscription, attempts, next_at, last_error, envelope FROM t_deliveries WHERE topic = ? "
            "ORDER BY seq LIMIT 100",
            (topic.backend.name,),
        ).fetchall()
        for seq, sub, attempts, next_at, error, envelope in rows:
            message = json.loads(envelope)
            pending.append(
                {
                    "seq": seq,
                    "subscription": sub,
                    "attempts": attempts,
                    "next_at": next_at,
                    "last_error": error,
                    "message_id": message.get("MessageId"),
                    "type": message.get("Type"),
                }
            )
    dlq = topic.webhooks_dlq
    return {
        "name": topic.name,
        "arn": topic.arn,
        "provider": topic.provider,
        "subscriptions": subs,
        "pending": pending,
        "failing": [p for p in pending if p["last_error"]],
        "dlq": ({"name": dlq.name, "depth": dlq.stats().depth} if dlq is not None else None),
        "outbox": topic.outbox() if "outbox" in topic.capabilities else [],
        "recent": recent_deliveries(spans, topic.name),
    }


@endpoint
async def topics(request: Request) -> Any:
    from .traces import store_of

    store = store_of(request)

    def listing() -> list[dict[str, Any]]:
        spans = store.recent(limit=2000)  # the newest hops of every kind; a topic's are picked from them
        return [_topic(t, spans) for t in request.app.state.app.of_kind("topic")]

    return await blocking(listing)


@endpoint
async def publish(request: Request) -> Any:
    topic = resource(request, "topic")
    data = await body(request)
    message = field(data, "message", str)
    subject = field(data, "subject", str, None)
    attributes = field(data, "attributes", dict, None)
    mid = await blocking(lambda: topic.publish(message, subject=subject, attributes=attributes))
    return {"message_id": mid}


ROUTES = [
    Route("/_strato/console/api/queues", queues),
    Route("/_strato/console/api/queues/{name}/messages", peek),
    Route("/_strato/console/api/queues/{name}/messages", send, methods=["POST"]),
    Route("/_strato/console/api/queues/{name}/purge", purge, methods=["POST"]),
    Route("/_strato/console/api/queues/{name}/redrive", redrive, methods=["POST"]),
    Route("/_strato/console/api/topics", topics),
    Route("/_strato/console/api/topics/{name}/publish", publish, methods=["POST"]),
]
