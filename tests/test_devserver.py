"""strato dev over real HTTP: routing, the payload 2.0 path, errors, limits, CORS, timeouts."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest

APP = "tests/apps/http_app.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.conftest import start_dev_server, stop

    srv = start_dev_server(APP, tmp_path_factory.mktemp("dev") / "data")
    yield srv
    stop(srv.proc)


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def test_request_reaches_handler_as_a_payload_2_event(client):
    r = client.get("/echo?a=1&tag=x&tag=y&e=%C3%A9", headers={"User-Agent": "t/1", "Cookie": "s=1; t=2"})
    assert r.status_code == 200
    body = r.json()
    assert body["method"] == "GET" and body["path"] == "/echo" and body["route"] == "GET /echo"
    assert body["query"] == {"a": "1", "tag": "x,y", "e": "é"}
    assert body["tags"] == ["x", "y"]
    assert body["cookies"] == {"s": "1", "t": "2"}
    assert body["ua"] == "t/1" and body["source_ip"] == "127.0.0.1" and body["request_id"]
    assert 0 < body["remaining_ms"] <= 1500


def test_path_parameters_literal_precedence_and_greedy(client):
    assert client.put("/items/a%20b", json={"n": 1}).status_code == 201
    assert client.get("/items/a%20b").json() == {"id": "a b", "n": 1}
    assert client.get("/items/special").json() == {"special": True}
    assert client.get("/files/a/b/c.txt").json() == {"path": "a/b/c.txt"}
    assert client.get("/files/").status_code == 404
    assert client.delete("/anything").json() == {"method": "DELETE"}
    assert client.get("/async").json() == {"async": True}


def test_response_forms(client):
    r = client.get("/text")
    assert r.text == "plain words" and r.headers["content-type"].startswith("text/plain")
    r = client.get("/bytes")
    assert r.content == b"\x00\x01\x02\xff" and r.headers["content-type"] == "application/octet-stream"
    r = client.get("/cookie")
    assert r.cookies.get("session") == "abc" and r.cookies.get("theme") == "dark"
    assert r.headers["x-total"] == "3"
    r = client.get("/tuple")
    assert r.status_code == 202 and r.headers["location"] == "/jobs/1"
    r = client.delete("/nothing")
    assert r.status_code == 204 and r.content == b""
    r = client.get("/redirect")
    assert r.status_code == 302 and r.headers["location"] == "/echo"
    assert client.head("/echo").status_code == 200


def test_binary_request_body_round_trips(client):
    payload = bytes(range(256)) * 10
    r = client.put("/raw", content=payload, headers={"content-type": "application/octet-stream"})
    assert r.content == payload


def test_unknown_route_and_wrong_method(client):
    r = client.get("/nope")
    assert r.status_code == 404 and r.json() == {"message": "Not Found"}
    r = client.post("/items/x")
    assert r.status_code == 405 and r.json() == {"message": "Method Not Allowed"}
    assert set(r.headers["allow"].split(", ")) == {"GET", "PUT"}


@pytest.mark.parametrize("body", [b"{bad json", b"", b"\xff\xfe", b'{"a": }'])
def test_malformed_json_is_a_400_with_a_reason(client, body):
    r = client.post("/echo", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    message = r.json()["message"]
    assert "JSON" in message or "UTF-8" in message or "empty" in message


def test_handler_errors_never_leak_internals(client, server):
    r = client.get("/boom")
    assert r.status_code == 500 and r.json() == {"message": "Internal Server Error"}
    assert "secret internal detail" not in r.text
    r = client.get("/invalid")
    assert r.status_code == 400 and r.json() == {"message": "the widget must be blue", "code": "ValidationError"}
    r = client.get("/notjson")
    assert r.status_code == 500
    r = client.get("/huge")
    assert r.status_code == 500
    assert client.get("/echo").status_code == 200  # still serving


def test_strato_errors_map_to_http_status(client):
    client.put("/items/dup", json={"v": 1})
    r = client.put("/items/dup?create=1", json={"v": 2})
    assert r.status_code == 409 and r.json()["code"] == "ConditionalCheckFailed"
    r = client.put("/items/big", json={"blob": "x" * 500_000})
    assert r.status_code == 413 and "400 KB" in r.json()["message"]
    assert client.get("/items/dup").json() == {"id": "dup", "v": 1}


def test_body_over_6_mb_is_refused_with_413(client):
    r = client.post("/echo", content=b"x" * (6 * 1024 * 1024 + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json() == {"message": "Request Entity Too Large"}

    def chunks():
        for _ in range(7):
            yield b"y" * (1024 * 1024)

    r = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/echo", json={"ok": "x" * (5 * 1024 * 1024)})
    assert r.status_code == 200


def test_handler_timeout_gives_503_and_server_keeps_serving(client):
    r = client.get("/slow?s=3")
    assert r.status_code == 503 and r.json() == {"message": "Service Unavailable"}
    assert "timeout" in r.headers["x-strato-error"]
    assert client.get("/slow?s=0.1").json() == {"slept": True}


def test_cors_preflight_and_response_headers(client):
    r = client.options("/echo", headers={"Origin": "https://ok.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://ok.example"
    assert r.headers["access-control-max-age"] == "600"
    r = client.get("/cookie", headers={"Origin": "https://ok.example"})
    assert r.headers["access-control-allow-origin"] == "https://ok.example"
    assert r.headers["access-control-expose-headers"] == "x-total"
    r = client.get("/echo", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    r = client.options("/echo", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in r.headers


def test_concurrent_requests(client, server):
    def put_get(i: int) -> int:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            c.put(f"/items/c{i}", json={"i": i})
            return c.get(f"/items/c{i}").json()["i"]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        assert sorted(pool.map(put_get, range(64))) == list(range(64))


def test_internal_endpoints(client, server):
    assert client.get("/_strato/health").json()["ok"] is True
    routes = {r["route"] for r in client.get("/_strato/routes", headers=server.secret_headers).json()}
    assert {"GET /items/{id}", "GET /files/{path+}", "ANY /anything"} <= routes


def test_reset_deletes_only_a_data_directory_strato_made(tmp_path):
    """`--data . --reset` once deleted the app's own files: only a folder with strato's marker (or named
    .strato) is deleted."""
    from click.testing import CliRunner

    from strato.cli import main

    own = tmp_path / "project"
    own.mkdir()
    (own / "app.py").write_text("import strato\napp = strato.App('x')\n")
    result = CliRunner().invoke(main, ["dev", str(own / "app.py"), "--data", str(own), "--reset", "--port", "1"])
    assert result.exit_code != 0 and "refusing to delete" in result.output
    assert (own / "app.py").exists()
    made = tmp_path / "data"
    made.mkdir()
    (made / ".strato-data").write_text("")
    (made / "tables.db").write_text("")
    from strato.cli import _reset

    _reset(made)
    assert not made.exists()


def test_a_port_in_use_fails_before_listening_or_starting_anything(tmp_path):
    import socket
    import subprocess
    import sys

    from tests.conftest import ROOT

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "strato.cli",
                "dev",
                "tests/apps/http_app.py",
                "--port",
                str(port),
                "--data",
                str(tmp_path / "data"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in run.stderr and "listening on" not in run.stderr + run.stdout
    assert not (tmp_path / "data").exists()  # nothing was made either
