"""Structured log lines in a deployed function: strato synth sets ``STRATO_LOG_FORMAT=json`` on every
function and the Lambda entry point (entry.py) makes the runtime's log handler write one JSON object per
line with the invocation's X-Ray trace id (the runtime's ``_X_AMZN_TRACE_ID``, whose format is
https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader) and the
request id the runtime's own filter puts on each record."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOT_ID = "1-5759e988-bd862e3fe1be46a994272793"

# what the Lambda runtime has done before the handler runs: a root handler with a request-id filter
LAMBDA = textwrap.dedent(
    """
    import json, logging, os, sys
    import strato

    class RequestId(logging.Filter):  # stands for the runtime's filter (it sets record.aws_request_id)
        def filter(self, record):
            record.aws_request_id = "req-7"
            return True

    runtime = logging.StreamHandler(sys.stdout)
    runtime.addFilter(RequestId())
    runtime.setFormatter(logging.Formatter("[%(levelname)s] %(aws_request_id)s %(message)s"))
    logging.getLogger().addHandler(runtime)
    logging.getLogger().setLevel(logging.INFO)

    app = strato.App("logs")
    api = app.http()
    log = logging.getLogger("logs.app")

    @api.get("/hello")
    def hello(req):
        log.info("said hello")
        return {"ok": True}

    event = {"version": "2.0", "routeKey": "GET /hello", "rawPath": "/hello", "rawQueryString": "",
             "headers": {}, "isBase64Encoded": False,
             "requestContext": {"http": {"method": "GET", "path": "/hello", "sourceIp": "127.0.0.1"},
                                "requestId": "r", "routeKey": "GET /hello", "stage": "$default"}}
    print("STATUS", app.lambda_handler(event, None)["statusCode"])
    """
)


def run(tmp_path: Path, log_format: str | None) -> list[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT / "src"),
        "STRATO_PROVIDER": "local",
        "STRATO_DATA_DIR": str(tmp_path / "data"),
        "AWS_LAMBDA_FUNCTION_NAME": "logs-dev-http",
        "_X_AMZN_TRACE_ID": f"Root={ROOT_ID};Parent=53995c3f42cd8ad8;Sampled=1",
    }
    if log_format is not None:
        env["STRATO_LOG_FORMAT"] = log_format
    done = subprocess.run([sys.executable, "-c", LAMBDA], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "STATUS 200" in done.stdout, done.stdout
    return [line for line in done.stdout.splitlines() if "said hello" in line]


def test_with_json_a_handlers_log_line_is_json_with_the_trace_and_request_ids(tmp_path):
    (line,) = run(tmp_path, "json")
    record = json.loads(line)
    assert record["message"] == "said hello" and record["level"] == "INFO" and record["logger"] == "logs.app"
    assert record["trace_id"] == ROOT_ID
    assert record["request_id"] == "req-7"


def test_without_it_the_runtimes_text_lines_are_left_alone(tmp_path):
    (line,) = run(tmp_path, None)
    assert line == "[INFO] req-7 said hello"


def test_synth_sets_json_logs_on_every_function(tmp_path):
    import strato
    from strato.deploy.synth import synth

    app = strato.App("logs", data_dir=str(tmp_path / "data"))
    app.http().get("/x")(lambda req: {})
    queue = app.queue("jobs")
    queue.consumer()(lambda message: None)
    resources = synth(app)["Resources"]
    app.close()
    envs = [
        r["Properties"]["Environment"]["Variables"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"
    ]
    assert len(envs) >= 2 and all(env["STRATO_LOG_FORMAT"] == "json" for env in envs)
