"""Bad input through strato dev is a 4xx, never a 500: deep JSON, integers over Python's 4,300-digit
limit, lone surrogates (JSON's "\\ud800") in keys, values, cache values, object bodies and passwords,
and a malformed @broadcast. Then a bounded hypothesis fuzz over bodies, headers, query strings and
WebSocket frames against one running server, which must stay healthy."""

from __future__ import annotations

import json
import time

import httpx
import pytest

APP = "tests/apps/attack_app.py"
SURROGATE = '"x\\ud800"'  # JSON for a string holding a lone surrogate


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.conftest import start_dev_server, stop

    srv = start_dev_server(APP, tmp_path_factory.mktemp("badinput") / "data")
    yield srv
    stop(srv.proc)


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=20) as client:
        yield client


def post(http, path: str, body: str) -> httpx.Response:
    return http.post(path, content=body.encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize(
    "path, body",
    [
        ("/notes", "[" * 100_000 + "]" * 100_000),
        ("/notes", '{"a": ' * 50_000 + "1" + "}" * 50_000),
        ("/notes", '{"id": "a", "n": ' + "7" * 5000 + "}"),
        ("/cache/k", "9" * 4500),
        ("/notes", '{"id": ' + SURROGATE + "}"),
        ("/notes", '{"id": "a", "v": ' + SURROGATE + "}"),
        ("/notes", '{"id": "a", "v": {"deep": [' + SURROGATE + "]}}"),
        ("/notes", '{"id": "a", ' + SURROGATE + ": 1}"),
        ("/cache/k", SURROGATE),
        ("/signup", '{"email": "ana@example.com", "password": "Passw0rd!xx\\ud800"}'),
    ],
    ids=[
        "deep-list",
        "deep-object",
        "int-5000-digits",
        "cache-int-4500-digits",
        "surrogate-key",
        "surrogate-value",
        "surrogate-nested",
        "surrogate-attribute-name",
        "surrogate-cache-value",
        "surrogate-password",
    ],
)
def test_bad_json_bodies_are_400s(http, path, body):
    response = post(http, path, body)
    assert response.status_code == 400, response.text[:300]


def test_lone_surrogates_in_kv_and_bucket_strings_are_400s(server, http):
    """A handler handing a decoded JSON string to kv or bucket (req.json()["v"]) gets a ValidationError."""
    assert post(http, "/notes", '{"id": "ok", "v": "fine"}').status_code == 200
    import strato
    from strato.core.errors import ValidationError

    app = strato.App("attack", data_dir=server.data_dir, provider="local")
    kv, files = app.kv("flags"), app.bucket("files")
    bad = json.loads(SURROGATE)
    with pytest.raises(ValidationError):
        kv.set("k", bad)
    with pytest.raises(ValidationError):
        files.put("k", bad)
    app.close()


def test_signing_in_with_a_lone_surrogate_is_not_a_crash(make_app):
    from strato.auth import AuthError

    pool = make_app().user_pool("users")
    pool.admin_create_user("ana@example.com", temporary_password="Passw0rd!xx")
    with pytest.raises(AuthError):
        pool.sign_in("ana@example.com", json.loads('"Passw0rd!xx\\ud800"'))


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[" * 100_000,
        b'{"ids": "x", "data": ""}',
        b'{"ids": [], "data": "!!"}',
        b"[]",
        b'{"ids": [1]}',
        b'{"batch": "x"}',
        b'{"batch": [1]}',
        b'{"batch": [{"ids": [], "data": ""}, {"ids": "x", "data": ""}]}',
    ],
    ids=[
        "not-json",
        "deep",
        "ids-not-list",
        "bad-base64",
        "not-object",
        "id-not-string",
        "batch-not-list",
        "batch-item-not-object",
        "batch-item-bad",
    ],
)
def test_a_malformed_broadcast_is_a_400(server, http, body):
    response = http.post("/_strato/ws/live/@broadcast", content=body, headers=server.secret_headers)
    assert response.status_code == 400, response.text


def test_fuzz_no_5xx_and_a_healthy_server(server, http):
    """Hypothesis over bodies, headers, query strings and WebSocket frames; ~30 s at most."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from websockets.sync.client import connect

    budget = time.monotonic() + 30
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
    body = st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=300),
        st.text(max_size=200).map(lambda t: json.dumps(t).encode()),
        st.sampled_from([SURROGATE.encode(), b"[" * 5000, b"1" * 5000, b'{"id": ' + SURROGATE.encode() + b"}"]),
    )
    path = st.sampled_from(["/notes", "/kv/a", "/cache/b", "/files/c/d", "/signup", "/flag/x", "/nope"])
    header_value = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.strip)
    query = st.dictionaries(st.text(max_size=6), st.text(max_size=12), max_size=3)
    ws = connect(server.url.replace("http", "ws") + "/ws/live?user=fuzz", legacy=True)
    statuses: list[int] = []

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(path, body, st.dictionaries(st.sampled_from(["x-a", "content-type", "cookie"]), header_value), query, body)
    def one(target, content, headers, params, frame):
        if time.monotonic() > budget and len(statuses) >= 30:  # a loaded machine still checks 30 examples
            return
        method = "GET" if target == "/flag/x" else "POST"
        response = http.request(method, target, content=content, headers=headers, params=params)
        statuses.append(response.status_code)
        assert response.status_code < 500, (target, content[:200], response.text[:200])
        try:
            ws.send(frame.decode("utf-8"))
        except UnicodeDecodeError:
            ws.send(frame)
        answer = ws.recv(timeout=10)
        assert "Internal server error" not in str(answer), (frame[:200], answer)

    try:
        one()
    finally:
        ws.close()
    assert len(statuses) >= 30
    assert http.get("/_strato/health").json()["ok"] is True
    log = server.output()  # a 4xx from the handler's own calls is logged with its traceback, as a warning
    for failure in ("unhandled error in handler", "gateway failure", "Exception in ASGI application", "ERROR"):
        assert failure not in log, log[-3000:]


def test_the_parsers_refuse_what_json_loads_raises_on(make_app):
    """parse_json, WebSocket route selection and body filter policies: a 5,000-digit integer or a
    100,000-deep document is bad input (or no match), never an escaping ValueError/RecursionError."""
    from strato.core.errors import ValidationError, parse_json
    from strato.topic.filter import matches

    for text in ("1" * 5000, "[" * 100_000, '{"a": ' + "9" * 4400 + "}"):
        with pytest.raises(ValidationError):
            parse_json(text, "body")
    app = make_app()
    ws = app.websocket("w")
    ws.route("go")(lambda msg: None)
    assert ws.select_route('{"action": ' + "1" * 5000 + "}") is None
    assert ws.select_route('{"action": "go"}') == "go"
    assert matches({"n": [{"numeric": [">", 1]}]}, body='{"n": ' + "1" * 5000 + "}", scope="body") is False
