"""The console's trace view in headless Chromium against `strato dev examples/jobs/app.py`: a job
submitted over HTTP appears in the request log by live push, and its waterfall shows every hop, HTTP ->
queue consumer -> topic delivery to a webhook subscriber -> WebSocket pushes to the user's open socket."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from strato.trace import new_trace_id
from tests.conftest import start_dev_server, stop
from tests.test_console_browser import open_area, page, shot  # noqa: F401 (page: the fixture)
from tests.test_worker import wait_until

JOBS = "examples/jobs/app.py"


class Receiver(BaseHTTPRequestHandler):
    """A webhook subscriber: confirms its subscription (GETs the SubscribeURL) and keeps notifications."""

    got: list[dict] = []

    def do_POST(self) -> None:
        envelope = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if envelope["Type"] == "SubscriptionConfirmation":
            httpx.get(envelope["SubscribeURL"], timeout=10)
        else:
            Receiver.got.append(envelope)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_jobs_trace_shows_every_hop_in_the_waterfall(tmp_path, page):  # noqa: F811
    from websockets.sync.client import connect

    dev = start_dev_server(JOBS, tmp_path / "data")
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    Receiver.got = []
    try:
        ana = {"x-dev-user-id": "ana"}
        sub = httpx.post(
            f"{dev.url}/api/notifications/subscribe/webhook",
            headers=ana,
            timeout=10,
            json={"endpoint": f"http://127.0.0.1:{hook.server_port}/hook", "events": ["completed"]},
        )
        assert sub.status_code == 201, sub.text
        arn = sub.json()["subscriptionArn"]
        assert wait_until(
            lambda: any(
                s["status"] == "confirmed"
                for s in httpx.get(f"{dev.url}/_strato/console/api/topics", headers=dev.secret_headers).json()[0][
                    "subscriptions"
                ]
                if s["arn"] == arn
            ),
            20,
        )
        open_area(page, dev, "requests")
        with connect(dev.url.replace("http://", "ws://") + "/ws/live?user=ana", open_timeout=10) as socket:
            trace_id = new_trace_id()  # the caller starts the trace (as an X-Ray-traced client would)
            job = httpx.post(
                f"{dev.url}/api/code-gen",
                headers={**ana, "X-Amzn-Trace-Id": f"Root={trace_id}"},
                timeout=10,
                json={"projectId": "shop", "type": "api", "prompt": "A REST API for users and orders"},
            )
            assert job.status_code == 202
            pushed = [json.loads(socket.recv(timeout=20))["status"] for _ in range(3)]
            assert pushed == ["queued", "generating", "completed"]
        assert wait_until(lambda: Receiver.got, 20)  # the webhook got the "completed" notification
        # the request log lists the job's trace without a reload: the change feed pushed it
        row = page.locator('[data-testid="request-log"] tr', has_text=trace_id)
        row.wait_for()
        # the row names the trace's entry: spans the queue consumer finished can be stored and pushed before
        # the request's own span (finished once the handler's answer is back on the event loop), and the row
        # is redrawn when that one arrives
        row.filter(has_text="POST /api/code-gen").wait_for(timeout=15_000)
        row.click()
        page.wait_for_selector('[data-testid="waterfall"]')
        wanted = {"http", "queue", "webhook", "websocket.send"}

        def kinds() -> set[str]:
            return set(page.eval_on_selector_all('[data-testid="span"]', "els => els.map(e => e.dataset.kind)"))

        # hops that finish later (the webhook's delivery) are pushed into the open waterfall
        assert wait_until(lambda: wanted <= kinds(), 20), kinds()
        outcomes = page.eval_on_selector_all('[data-testid="span"]', "els => els.map(e => e.dataset.outcome)")
        assert set(outcomes) == {"ok"}
        text = page.inner_text('[data-testid="waterfall"]')
        assert "codegen-jobs" in text and "run_codegen" in text and "POST /api/code-gen" in text
        shot(page, "requests-trace")
        # a job whose consumer fails: its hop is red, with the error (and the lines logged in it)
        failed_id = new_trace_id()
        httpx.post(
            f"{dev.url}/api/code-gen",
            headers={**ana, "X-Amzn-Trace-Id": f"Root={failed_id}"},
            timeout=10,
            json={"projectId": "shop", "type": "api", "prompt": "please fail"},
        ).raise_for_status()
        row = page.locator('[data-testid="request-log"] tr', has_text=failed_id)
        row.wait_for()
        row.click()
        page.wait_for_selector('[data-testid="span"][data-kind="queue"][data-outcome="error"]')
        error = page.locator('[data-testid="span-error"]').first
        error.wait_for()
        assert "RuntimeError: the prompt asked for a failure" in error.inner_text()
        shot(page, "requests-failed-hop")
        assert page.errors == []
    finally:
        hook.shutdown()
        stop(dev.proc)
