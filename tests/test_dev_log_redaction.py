"""``strato dev`` writes no credential to its log: the WebSocket connect's ``?token=<idToken>``, a
presigned URL's signature and Authorization values come out as [REDACTED], in uvicorn's access and
connection lines as in strato's own."""

from __future__ import annotations

import json
import logging

import httpx

from strato.local.logs import REDACTED, RedactFilter
from tests.conftest import start_dev_server, stop
from tests.test_auth import WS_AUTH_APP, app_file, signed_up


def test_the_dev_server_log_carries_no_token(tmp_path):
    from websockets.sync.client import connect

    spec, _, pool = app_file(tmp_path, WS_AUTH_APP)
    server = start_dev_server(str(spec), tmp_path / "data", "--log-level", "info")
    try:
        tokens = signed_up(pool)
        base = server.url.replace("http", "ws")
        with connect(f"{base}/ws/chat?token={tokens.id_token}") as ws:
            ws.send(json.dumps({"action": "whoami"}))
            ws.recv(timeout=5)
        signature = "deadbeef" * 8
        with httpx.Client(base_url=server.url, timeout=10) as client:
            client.get(f"/nowhere?token={tokens.access_token}&X-Amz-Signature={signature}&keep=visible")
    finally:
        stop(server.proc)
    log = server.output()
    assert "/ws/chat?token=" in log and "keep=visible" in log, log  # the lines are there ...
    for secret in (tokens.id_token, tokens.access_token, signature, tokens.id_token.split(".")[1]):
        assert secret not in log, log  # ... without the credentials
    assert f"token={REDACTED}" in log and f"X-Amz-Signature={REDACTED}" in log


def test_the_filter_redacts_messages_arguments_and_tracebacks():
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    try:
        raise ValueError(f"bad header Authorization: Bearer {jwt_like}")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "%s %s", ("GET", f"/a?token={jwt_like}"), None)
        record.exc_info = sys.exc_info()
    RedactFilter().filter(record)
    text = logging.Formatter().format(record)
    assert jwt_like not in text, text
    assert f"token={REDACTED}" in text and f"ValueError: bad header Authorization: Bearer {REDACTED}" in text


def test_strato_worker_redacts_credentials_from_its_log(tmp_path):
    """A consumer that fails logs its exception; a token in it must not reach `strato worker`'s log."""
    import os
    import select
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJl"
    spec = tmp_path / "leaky.py"
    spec.write_text(
        "import strato\napp = strato.App('leaky')\njobs = app.queue('jobs')\n"
        "@jobs.consumer()\ndef work(m):\n    raise RuntimeError('API call with Authorization: Bearer ' + m.body)\n"
    )
    data = tmp_path / "data"
    from strato.loader import load_app

    os.environ["STRATO_DATA_DIR"] = str(data)
    try:
        app = load_app(str(spec))
        app.resources[("queue", "jobs")].send(token)
        app.close()
    finally:
        del os.environ["STRATO_DATA_DIR"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "strato.cli", "worker", str(spec), "--data", str(data), "--poll-wait", "0.1"],
        cwd=ROOT,
        env={**os.environ, "STRATO_PROVIDER": "local"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("RuntimeError" in line for line in lines):
        ready, _, _ = select.select([worker.stderr], [], [], 1)  # the failed invocation's traceback
        if ready:
            line = worker.stderr.readline().decode()
            if not line:
                break
            lines.append(line)
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=30)
    log = "".join(lines) + err.decode()
    assert "RuntimeError" in log and "[REDACTED]" in log
    assert token not in log
