"""OpenTelemetry export (the strato[otel] extra): spans reach an OTLP/HTTP receiver with strato's ids,
parents, names, attributes and error status; an app that does not enable it never imports opentelemetry.

OTLP/HTTP: POST /v1/traces with a protobuf ExportTraceServiceRequest
(https://opentelemetry.io/docs/specs/otlp/#otlphttp); X-Ray ids map as the X-Ray propagator maps them.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("opentelemetry.sdk")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from strato.trace import Tracer, context, install
from strato.trace.otel import enable, otel_trace_id
from tests.conftest import ROOT


@pytest.fixture
def receiver():
    """A local OTLP/HTTP trace receiver on a free loopback port: decodes what it is sent."""
    got: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            got.append((self.path, self.headers["Content-Type"], request))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()
    server.server_close()


def _spans(got):
    return [
        (resource, span)
        for _, _, request in got
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]


def test_spans_are_exported_over_otlp_http_with_stratos_ids(receiver):
    url, got = receiver
    previous = context.tracer
    install(None)
    try:
        export = enable(f"{url}/v1/traces", service_name="shop", batch=False)
        tracer = context.tracer
        with tracer.span("http", "http", "POST /orders") as entry:
            entry.attributes["status"] = 201
            with pytest.raises(RuntimeError), tracer.span("queue", "orders", "fulfil"):
                raise RuntimeError("out of stock")
        assert export.flush()
    finally:
        install(previous)
    spans = _spans(got)
    assert {path for path, _, _ in got} == {"/v1/traces"}
    assert {kind for _, kind, _ in got} == {"application/x-protobuf"}
    by_name = {span.name: (resource, span) for resource, span in spans}
    resource, root = by_name["http http POST /orders"]
    _, child = by_name["queue orders fulfil"]
    service = {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"]
    assert service == "shop"
    assert root.trace_id == otel_trace_id(entry.trace_id).to_bytes(16, "big")
    assert root.span_id == bytes.fromhex(entry.span_id) and root.parent_span_id == b""
    assert child.trace_id == root.trace_id and child.parent_span_id == root.span_id
    assert root.kind == 2 and child.kind == 5  # SPAN_KIND_SERVER, SPAN_KIND_CONSUMER
    attributes = {a.key: a.value for a in root.attributes}
    assert attributes["strato.status"].int_value == 201 and attributes["strato.resource"].string_value == "http"
    assert child.status.code == 2 and "RuntimeError: out of stock" in child.status.message  # STATUS_CODE_ERROR
    assert (
        root.end_time_unix_nano >= child.end_time_unix_nano >= child.start_time_unix_nano >= root.start_time_unix_nano
    )


def test_an_incoming_header_keeps_its_trace_and_parent_in_otel(receiver):
    url, got = receiver
    previous = install(Tracer([]))  # a tracer already in use (strato dev's): export is one more sink
    try:
        export = enable(f"{url}/v1/traces", batch=True)
        header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        with context.tracer.span("http", "http", "GET /", header):
            pass
        assert export.flush()
        export.close()
    finally:
        install(previous)
    ((_, span),) = _spans(got)
    assert span.trace_id == bytes.fromhex("5759e988bd862e3fe1be46a994272793")
    assert span.parent_span_id == bytes.fromhex("53995c3f42cd8ad8")


def test_an_app_that_does_not_enable_it_never_imports_opentelemetry(tmp_path):
    code = (
        "import sys, strato\n"
        "from strato.trace import Tracer, install\n"
        f"app = strato.App('plain', data_dir={str(tmp_path)!r})\n"
        "q = app.queue('jobs')\n"
        "tracer = Tracer([])\n"
        "install(tracer)\n"
        "with tracer.span('http', 'http', 'GET /'):\n"
        "    q.send({'n': 1})\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
