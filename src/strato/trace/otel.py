"""OpenTelemetry export: each finished span, re-created as an OpenTelemetry span with the same ids and
sent over OTLP/HTTP by the official SDK (the ``strato[otel]`` extra).

Only ``enable()`` imports ``opentelemetry``: an app that never calls it never loads it, in Lambda or
locally. Ids map as the AWS X-Ray propagator maps them: trace ``1-5759e988-bd862e3fe1be46a994272793``
is OpenTelemetry trace id ``0x5759e988bd862e3fe1be46a994272793``; span ids are the same 64 bits
(https://opentelemetry.io/docs/specs/otel/context/api-propagators/ names the X-Ray propagator).
"""

from __future__ import annotations

import os
import threading

from . import context
from .span import Span
from .tracer import Tracer

#: strato's span kinds as OpenTelemetry's: what serves a request is SERVER, what takes a message CONSUMER
_KINDS = {"http": "SERVER", "websocket": "SERVER", "websocket.send": "PRODUCER", "webhook": "CLIENT"}


def otel_trace_id(trace_id: str) -> int:
    """X-Ray's ``1-{8 hex}-{24 hex}`` as OpenTelemetry's 128-bit trace id."""
    return int(trace_id[2:10] + trace_id[11:], 16)


class _Ids:
    """Hands the SDK the ids strato already chose, one span at a time (per thread)."""

    def __init__(self) -> None:
        self.local = threading.local()

    def generate_span_id(self) -> int:
        return int(self.local.span_id)

    def generate_trace_id(self) -> int:
        return int(self.local.trace_id)


class OtlpExport:
    """A tracer sink exporting to an OTLP/HTTP endpoint (``endpoint`` None: the SDK's own settings,
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``, else localhost:4318)."""

    def __init__(self, endpoint: str | None = None, service_name: str = "strato", batch: bool | None = None) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.id_generator import IdGenerator
        from opentelemetry.trace import (
            NonRecordingSpan,
            SpanContext,
            SpanKind,
            Status,
            StatusCode,
            TraceFlags,
            set_span_in_context,
        )

        class Ids(_Ids, IdGenerator):
            pass

        self.ids = Ids()
        self.provider = TracerProvider(resource=Resource.create({"service.name": service_name}), id_generator=self.ids)
        exporter = OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()
        if batch is None:  # inside Lambda the process may freeze right after the answer: export at once
            batch = "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
        self.provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("strato")
        self._otel = (NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, set_span_in_context)

    def __call__(self, span: Span) -> None:
        NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, set_span_in_context = self._otel
        trace_id = otel_trace_id(span.trace_id)
        self.ids.local.trace_id, self.ids.local.span_id = trace_id, int(span.span_id, 16)
        parent = None
        if span.parent_id:
            remote = SpanContext(trace_id, int(span.parent_id, 16), is_remote=True, trace_flags=TraceFlags(1))
            parent = set_span_in_context(NonRecordingSpan(remote))
        kind = getattr(SpanKind, _KINDS.get(span.kind, "CONSUMER"))
        attributes: dict[str, str | int | float] = {
            "strato.kind": span.kind,
            "strato.resource": span.resource,
            "strato.handler": span.handler,
        }
        attributes.update({f"strato.{k}": v for k, v in span.attributes.items() if isinstance(v, (str, int, float))})
        started = int(span.start * 1e9)
        otel = self.tracer.start_span(
            f"{span.kind} {span.resource} {span.handler}",
            context=parent,
            kind=kind,
            attributes=attributes,
            start_time=started,
        )
        if span.error is not None:
            otel.set_status(Status(StatusCode.ERROR, span.error))
        otel.end(end_time=started + int(span.duration * 1e9))

    def flush(self, timeout_ms: int = 10_000) -> bool:
        return bool(self.provider.force_flush(timeout_ms))

    def close(self) -> None:
        self.provider.shutdown()


def enable(endpoint: str | None = None, service_name: str | None = None, batch: bool | None = None) -> OtlpExport:
    """Export every span of this process over OTLP/HTTP from now on (also inside Lambda); returns the
    exporter (``flush()`` before a short-lived process exits). Adds to the tracer in use, else installs one."""
    from .setup import install

    export = OtlpExport(endpoint, service_name or os.environ.get("OTEL_SERVICE_NAME", "strato"), batch)
    tracer = context.tracer
    if tracer is None:
        install(Tracer([export]))
    else:
        tracer.sinks.append(export)
    return export
