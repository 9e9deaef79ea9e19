"""The topic contract, run unchanged against the local provider and SNS (+ SQS) on moto_server."""

from __future__ import annotations

import json
import time

import pytest

import strato
from strato.queue import Queue
from strato.topic import CAPABILITIES, MAX_PUBLISH_BYTES, Topic
from tests.conformance.absence import assert_absent, double_cases, lacking
from tests.conftest import moto_gap


@pytest.fixture(params=["local", "aws"])
def provider(request):
    return request.param


@pytest.fixture
def app(provider, make_app):
    return make_app(provider)


def received(queue, expected: int | None = None, timeout: float = 3.0) -> list:
    got, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = queue.receive(10, wait=0.2)
        got += batch
        if batch:
            queue.delete_batch(batch)
        if expected is not None and len(got) >= expected:
            break
    return got


FILTER_CASES = [
    # (policy, scope, attributes or body, delivered?)
    ({"status": ["completed", "failed"]}, "attributes", {"status": "failed"}, True),
    ({"status": ["completed", "failed"]}, "attributes", {"status": "queued"}, False),
    ({"status": [{"prefix": "comp"}]}, "attributes", {"status": "completed"}, True),
    ({"status": [{"anything-but": ["queued"]}]}, "attributes", {"status": "queued"}, False),
    ({"status": [{"anything-but": ["queued"]}]}, "attributes", {"status": "running"}, True),
    ({"size": [{"numeric": [">", 10, "<=", 20]}]}, "attributes", {"size": 15}, True),
    ({"size": [{"numeric": [">", 10, "<=", 20]}]}, "attributes", {"size": 25}, False),
    ({"user": [{"exists": True}]}, "attributes", {"status": "x"}, False),
    ({"tags": ["red"]}, "attributes", {"tags": ["blue", "red"]}, True),
    ({"status": [{"equals-ignore-case": "DONE"}]}, "attributes", {"status": "done"}, True),
    ({"job": {"status": ["completed"]}}, "body", {"job": {"status": "completed"}}, True),
    ({"job": {"status": ["completed"]}}, "body", {"job": {"status": "queued"}}, False),
    # AWS fidelity (docs cited in tests/test_filter_policy.py)
    ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, "attributes", {"source_ip": "10.0.0.42"}, True),
    ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, "attributes", {"source_ip": "10.0.1.42"}, False),
    ({"source_ip": [{"cidr": "2001:db8::/32"}]}, "attributes", {"source_ip": "2001:db8::7"}, True),
    ({"size": [{"numeric": ["=", 1]}]}, "attributes", {"size": 1.000001}, True),
    ({"size": [1]}, "body", {"size": 1.000001}, True),
    ({"flag": [True]}, "body", {"flag": True}, True),
    ({"flag": [True]}, "body", {"flag": "true"}, False),
    ({"flag": [None]}, "body", {"flag": None}, True),
    ({"job.status": ["completed"]}, "body", {"job": {"status": "completed"}}, True),
    ({"job": {"status": ["completed"]}}, "body", {"job.status": "completed"}, True),
    ({"n": [3]}, "body", {"n": [[1, 2], [3]]}, True),
    ({"job": {"status": [{"exists": False}]}}, "body", {"job": {"id": 1}}, True),
    ({"job": {"status": [{"exists": False}]}}, "body", {"other": 1}, True),
]
_CIDR = "does not know the cidr operator (Unrecognized match type cidr)"
FILTER_GAPS = {  # (policy, payload) -> how moto_server differs from SNS
    json.dumps([{"source_ip": [{"cidr": "10.0.0.0/24"}]}, {"source_ip": "10.0.0.42"}]): _CIDR,
    json.dumps([{"source_ip": [{"cidr": "10.0.0.0/24"}]}, {"source_ip": "10.0.1.42"}]): _CIDR,
    json.dumps([{"source_ip": [{"cidr": "2001:db8::/32"}]}, {"source_ip": "2001:db8::7"}]): _CIDR,
    json.dumps([{"size": [{"numeric": ["=", 1]}]}, {"size": 1.000001}]): "compares Number attributes exactly, "
    "not to five decimal digits",
    json.dumps([{"flag": [None]}, {"flag": None}]): "a null policy value never matches a null in the body",
    json.dumps([{"job.status": ["completed"]}, {"job": {"status": "completed"}}]): "a dotted policy name is "
    "not the nested field",
    json.dumps([{"job": {"status": ["completed"]}}, {"job.status": "completed"}]): "a dotted message name is "
    "not the nested field",
    json.dumps([{"n": [3]}, {"n": [[1, 2], [3]]}]): "does not flatten arrays of arrays",
    json.dumps([{"job": {"status": [{"exists": False}]}}, {"other": 1}]): "a nested exists:false never matches "
    "when the parent object is missing",
}


@pytest.mark.parametrize("policy,scope,payload,delivered", FILTER_CASES)
def test_filter_policies_decide_delivery_to_a_queue(app, provider, request, policy, scope, payload, delivered):
    if "equals-ignore-case" in json.dumps(policy):
        moto_gap(request, provider, "equals-ignore-case lowercases the message value but not the policy value")
    if gap := FILTER_GAPS.get(json.dumps([policy, payload])):
        moto_gap(request, provider, gap)
    topic = app.topic("events")
    inbox = app.queue("inbox")
    topic.subscribe_queue(inbox, filter=policy, filter_scope=scope)
    if scope == "body":
        topic.publish(payload)
    else:
        topic.publish({"hello": "world"}, attributes=payload)
    got = received(inbox, 1, timeout=1.5 if not delivered else 3.0)
    assert len(got) == (1 if delivered else 0)


def test_raw_delivery_keeps_body_and_attributes(app):
    topic = app.topic("events")
    inbox = app.queue("inbox")
    topic.subscribe_queue(inbox)
    topic.publish({"id": 7}, attributes={"status": "queued", "n": 3})
    [message] = received(inbox, 1)
    assert message.json() == {"id": 7}
    assert message.attributes == {"status": "queued", "n": 3}


def test_envelope_delivery_wraps_the_message(app):
    topic = app.topic("events")
    inbox = app.queue("inbox")
    topic.subscribe_queue(inbox, raw=False)
    message_id = topic.publish("hello", attributes={"status": "done"}, subject="greeting")
    [message] = received(inbox, 1)
    envelope = json.loads(message.body)
    assert envelope["Type"] == "Notification" and envelope["Message"] == "hello"
    assert envelope["MessageId"] == message_id and envelope["Subject"] == "greeting"
    assert envelope["TopicArn"].endswith(topic.physical_name)
    assert envelope["MessageAttributes"]["status"] == {"Type": "String", "Value": "done"}
    assert envelope["SignatureVersion"] in ("1", "2") and envelope["Signature"]


def test_publish_batch_and_fan_out_to_two_queues(app):
    topic = app.topic("events")
    a, b = app.queue("a"), app.queue("b")
    topic.subscribe_queue(a)
    topic.subscribe_queue(b, filter={"n": [{"numeric": [">=", 5]}]})
    ids = topic.publish_batch([f"m{i}" for i in range(3)], attributes={"n": 5})
    assert len(set(ids)) == 3
    assert len(received(a, 3)) == 3 and len(received(b, 3)) == 3


def test_fifo_topic_to_fifo_queue_keeps_order_and_dedups(app):
    topic = app.topic("orders", fifo=True, content_dedup=True)
    inbox = app.queue("ordered", fifo=True, content_dedup=True)
    topic.subscribe_queue(inbox)
    for i in range(4):
        topic.publish(f"step {i}", group="order-1")
    topic.publish("step 0", group="order-1")  # duplicate content within the window
    assert [m.body for m in received(inbox, 4)] == [f"step {i}" for i in range(4)]
    with pytest.raises(strato.ConfigurationError):
        topic.subscribe_queue(app.queue("standard"))


def test_email_subscriptions_wait_for_confirmation(app, provider, request):
    moto_gap(request, provider, "confirms email subscriptions at once; SNS waits for the emailed link")
    assert app.topic("events").subscribe_email("ops@example.com").status == "pending"


def test_run_time_subscriptions(app):
    topic = app.topic("events")
    email = topic.subscribe_email("ops@example.com", filter={"status": ["failed"]})
    sms = topic.subscribe_sms("+14155550100")
    assert sms.status == "confirmed"
    assert {s.arn for s in topic.subscriptions()} >= {email.arn, sms.arn}
    assert next(s for s in topic.subscriptions() if s.arn == email.arn).filter == {"status": ["failed"]}
    topic.unsubscribe(sms)
    assert sms.arn not in {s.arn for s in topic.subscriptions()}


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"body": "x" * (MAX_PUBLISH_BYTES + 1)}, strato.ItemTooLarge),
        ({"body": "x", "subject": "s" * 101}, strato.ValidationError),
        ({"body": "x", "subject": "two\nlines"}, strato.ValidationError),
        ({"body": ""}, strato.ValidationError),
        ({"body": "x", "attributes": {"bad name": "v"}}, strato.ValidationError),
        ({"body": "x", "group": "g"}, strato.ValidationError),
    ],
)
def test_bad_publishes(app, kwargs, error):
    topic = app.topic("events")
    options = dict(kwargs)
    body = options.pop("body")
    with pytest.raises(error):
        topic.publish(body, **options)


@pytest.mark.parametrize(
    "protocol,endpoint",
    [
        ("email", "not-an-address"),
        ("sms", "555-0100"),
        ("http", "ftp://x"),
        ("https", "http://x"),
        ("smtp", "x"),
    ],
)
def test_bad_subscriptions(app, protocol, endpoint):
    with pytest.raises(strato.ValidationError):
        app.topic("events").add_subscription(protocol, endpoint)


def test_invalid_filter_policy_is_refused_before_subscribing(app):
    topic = app.topic("events")
    with pytest.raises(strato.ValidationError, match="5 keys"):
        topic.subscribe_email("a@example.com", filter={f"k{i}": ["v"] for i in range(6)})
    assert topic.subscriptions() == [] or all(s.protocol != "email" for s in topic.subscriptions())


def test_a_nested_policy_of_150_combinations_is_accepted(app, provider, request):
    """SNS allows 150 combinations (the product of the number of values in each array); nesting adds
    none. https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html"""
    moto_gap(request, provider, "multiplies each array by its nesting depth and calls this policy too complex")
    topic = app.topic("events")
    inbox = app.queue("inbox")
    five, six = [f"v{i}" for i in range(5)], [f"w{i}" for i in range(6)]
    topic.subscribe_queue(inbox, filter={"a": {"b": {"c": five, "d": five}}, "e": six}, filter_scope="body")
    topic.publish({"a": {"b": {"c": "v1", "d": "v4"}}, "e": "w5"})
    assert len(received(inbox, 1)) == 1


def _sibling(topic, name, **options):
    return Topic(topic.ctx, name, provider=topic.provider_name, **options)


def _filtering_handler(topic):
    filtered = _sibling(topic, "filtered")
    filtered.subscribe(filter={"k": ["v"]}, filter_scope="body")(lambda note: None)
    return filtered.publish("x")  # a declaration: refused when the backend opens


BODY_FILTER = {"filter": {"k": ["v"]}, "filter_scope": "body"}
#: one use of each capability (declaration-time ones on a sibling topic)
USES = {
    "fifo": lambda t: _sibling(t, "orders", fifo=True, content_dedup=True).publish("x", group="g"),
    "filter_body": lambda t: t.subscribe_queue(Queue(t.ctx, "inbox", provider=t.provider_name), **BODY_FILTER),
    "webhooks": lambda t: t.subscribe_webhook("https://example.com/hook"),
    "email": lambda t: t.subscribe_email("ops@example.com"),
    "sms": lambda t: t.subscribe_sms("+14155550100"),
    "outbox": lambda t: t.outbox(),
    # SNS delivers to handlers itself, out of strato's sight: wait_idle cannot know, so it refuses
    "handler_delivery": lambda t: t.wait_idle(0.1),
}
#: other places the same capabilities are used
ALSO = [
    ("filter_body", _filtering_handler),
    ("filter_body", lambda t: t.subscribe(**BODY_FILTER)),
    ("filter_body", lambda t: t.subscribe_email("ops@example.com", **BODY_FILTER)),
    ("webhooks", lambda t: t.add_subscription("http", "http://example.com/hook")),
]


def _state(topic):
    return sorted((s.protocol, s.endpoint) for s in topic.subscriptions()), len(topic.declared)


def test_capabilities_are_known_and_each_one_missing_raises_not_supported(app):
    topic = app.topic("events")
    assert {"fifo", "filter_body", "webhooks", "email", "sms"} <= topic.capabilities  # each exercised above
    assert_absent(topic, USES, state=_state, also=ALSO)


@pytest.mark.parametrize("missing", double_cases(CAPABILITIES))
def test_a_provider_without_a_capability_refuses_its_uses_and_stores_nothing(make_app, monkeypatch, missing):
    lacks = lacking(monkeypatch, "topic", missing, CAPABILITIES)
    topic = make_app("local").topic("events")
    assert assert_absent(topic, USES, state=_state, also=ALSO) == lacks


def test_aws_queue_subscription_gets_a_policy_allowing_sns(make_app):
    """On AWS, SNS silently drops deliveries to a queue whose policy does not allow it."""
    app = make_app("aws")
    topic, inbox = app.topic("events"), app.queue("inbox")
    topic.subscribe_queue(inbox)
    topic.backend.ensure()
    attrs = inbox.backend.client.get_queue_attributes(QueueUrl=inbox.backend.url, AttributeNames=["Policy"])
    [statement] = json.loads(attrs["Attributes"]["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == topic.backend.arn


def test_capabilities(app):
    topic = app.topic("events")
    assert topic.capabilities <= CAPABILITIES
    assert {"fifo", "filter_body", "webhooks", "email", "sms"} <= topic.capabilities
    for capability in CAPABILITIES - topic.capabilities:
        if capability == "outbox":
            with pytest.raises(strato.NotSupported):
                topic.outbox()
