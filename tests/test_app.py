"""The App as a whole: declarations refused early, everything closed on close, one usage count for the
Lambda and the dev-server paths."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

import strato
from strato.core.errors import ConfigurationError
from tests.conftest import gateway_event


def test_a_second_consumer_on_one_queue_is_refused_at_declaration(make_app):
    app = make_app()
    jobs = app.queue("jobs")

    @jobs.consumer()
    def first(message):
        pass

    with pytest.raises(ConfigurationError, match=r"already has a consumer \(.*first\).*topic"):

        @jobs.consumer()
        def second(message):
            pass

    assert [c.handler for c in jobs.consumers] == [first]


def _open_files_under(folder: Path) -> list[str]:
    root = str(folder.resolve())
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(root):
            found.append(target)
    return found


def test_close_closes_every_store_it_opened(make_app, tmp_path):
    app = make_app()
    data = app.config.data_dir
    app.table("docs", key="id").put({"id": "a"})
    app.queue("work").send("x")
    app.bucket("files").put("k", b"v")
    app.kv("flags").set("k", "v")
    pool = app.user_pool("users")
    pool.sign_up("ana", "Correct-Horse-9!", {"email": "ana@example.com"})
    app.metrics("Shop").put("Orders", 1)
    app.meetings("calls").create_meeting("standup")
    app.sql("main").query("SELECT 1 AS one")
    assert _open_files_under(data), "the stores should hold their files open while in use"
    app.close()
    assert _open_files_under(data) == []


class _Tally:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], float] = {}

    def add(self, service: str, unit: str, amount: float = 1) -> None:
        self.counts[(service, unit)] = self.counts.get((service, unit), 0) + amount

    def flush(self) -> None:
        pass

    def count(self, service: str, unit: str) -> float:
        return self.counts.get((service, unit), 0)


@pytest.mark.parametrize(
    ("method", "path", "headers", "invoked"),
    [
        ("GET", "/items/1", [], True),
        ("GET", "/nowhere", [], False),  # 404: API Gateway answers, no function runs
        ("DELETE", "/items/1", [], False),  # 405
        ("OPTIONS", "/items/1", [("origin", "https://a.example"), ("access-control-request-method", "GET")], False),
    ],
)
def test_lambda_and_dev_server_paths_count_the_same_usage(make_app, method, path, headers, invoked):
    app = make_app()
    api = app.http(cors=strato.Cors(allow_origins=["https://a.example"]))

    @api.get("/items/{id}")
    def item(req, id):
        return {"id": id}

    tallies = []
    for run_async in (False, True):
        tally = _Tally()
        app._usage = tally
        event = gateway_event(method, path, headers, domain="localhost")
        dispatcher = app.http_dispatcher
        if run_async:

            async def in_thread(fn, *args):
                return fn(*args)

            asyncio.run(dispatcher.handle_async(event, None, in_thread))
        else:
            dispatcher.handle(event)
        tallies.append(tally)
    lambda_path, dev_path = tallies
    # API Gateway's requests are the dev server gateway's to count (a direct invoke has no gateway)
    assert lambda_path.count("apigateway", "http_requests") == dev_path.count("apigateway", "http_requests") == 0
    assert lambda_path.count("lambda", "invocations") == dev_path.count("lambda", "invocations") == int(invoked)


def test_a_route_whose_handler_needs_a_parameter_the_path_lacks_is_refused_at_declaration(make_app):
    api = make_app().http()

    @api.get("/items/{item_id}")
    def fine(req, item_id, extra=1, *, flag=False):
        return {"id": item_id}

    with pytest.raises(ConfigurationError, match=r"route GET /items/\{item_id\}/parts: .*needs id.*item_id"):

        @api.get("/items/{item_id}/parts")
        def wrong(req, id):
            return {"id": id}


def test_password_policy_is_importable_from_strato():
    policy = strato.PasswordPolicy(min_length=12)
    assert policy.min_length == 12


def test_a_syntax_error_in_the_app_is_one_line_naming_file_and_line(tmp_path):
    from click.testing import CliRunner

    from strato.cli import main

    spec = tmp_path / "broken.py"
    spec.write_text("import strato\napp = strato.App('x'\n")
    result = CliRunner().invoke(main, ["routes", str(spec)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{spec}:2:" in lines[0] and "Traceback" not in result.output


def test_a_4xx_from_the_handlers_own_calls_is_logged_with_its_traceback(make_app, caplog):
    """The client sees 400, and the log says where in the handler the bad call was (it said nothing)."""
    import json as _json

    app = make_app()
    flags = app.kv("flags")
    api = app.http()

    @api.post("/flags/{name}")
    def set_flag(req, name):
        flags.set(name, 5)  # not a str or bytes: ValidationError

    event = gateway_event("POST", "/flags/beta", domain="localhost")
    with caplog.at_level("WARNING", logger="strato"):
        out = app.lambda_handler(event)
    assert out["statusCode"] == 400 and "message" in _json.loads(out["body"])
    record = next(r for r in caplog.records if "ValidationError" in r.getMessage())
    assert record.exc_info and "set_flag" in "".join(__import__("traceback").format_exception(*record.exc_info))


def test_a_missing_extra_is_named_in_one_line(tmp_path):
    """Without click (the dev extra) or boto3 (the aws extra) the command says which extra to install."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules[sys.argv[1]] = None; sys.argv = ['strato', 'routes', sys.argv[2]]; "
        "from strato.command import main; main()"
    )
    spec = tmp_path / "app.py"
    spec.write_text("import strato\napp = strato.App('x')\n")
    for module, extra in (("click", "dev"), ("uvicorn", "dev")):
        run = subprocess.run(
            [sys.executable, "-c", code, module, str(spec)], capture_output=True, text=True, timeout=60
        )
        if module == "uvicorn":  # `routes` does not need the web stack: it must still work
            assert run.returncode == 0, run.stderr
            continue
        assert run.returncode != 0
        assert run.stderr.strip().splitlines() == [
            f"strato: this needs {module}, which is not installed: pip install 'strato[{extra}]'"
        ]
