"""The current trace: which trace the running code belongs to, in X-Ray's ``X-Amzn-Trace-Id`` format.

A trace id is X-Ray's ``Root``: ``1-{8 hex digits of Unix time}-{24 random hex digits}``; a hop's span
id is X-Ray's 16-hex-digit segment id, passed on as ``Parent``; ``Sampled`` is 1 or 0. The header reads
``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1``
(https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader).

This module is what facades read when they send (a queue message's ``AWSTraceHeader``, a topic
delivery): it imports nothing but ``os``, ``re`` (which ``json`` loads anyway), ``time`` and
``contextvars``. Inside Lambda, when no span is open here, the trace is the one the Lambda runtime puts
in ``_X_AMZN_TRACE_ID`` for each invocation.
"""

from __future__ import annotations

import os
import re
import time
from contextvars import ContextVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextvars import Token
    from typing import Any

HEADER = "X-Amzn-Trace-Id"  # the HTTP header; ``AWSTraceHeader`` is the SQS system attribute carrying it
LAMBDA_ENV = "_X_AMZN_TRACE_ID"  # set by the Lambda runtime for the invocation in progress
#: whether this process is a Lambda execution environment (the runtime sets this before any code runs);
#: read once: an environment lookup per span cost more than the rest of opening one
IN_LAMBDA = "AWS_LAMBDA_FUNCTION_NAME" in os.environ


class TraceContext:
    """Where the running code is: its trace (``trace_id``, X-Ray's Root), its span (``span_id``, the
    Parent of what it sends) and the sampling decision."""

    __slots__ = ("sampled", "span_id", "trace_id")

    def __init__(self, trace_id: str, span_id: str | None, sampled: bool = True) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.sampled = sampled

    @property
    def header(self) -> str:
        """The ``X-Amzn-Trace-Id`` value to send downstream: this span becomes the receiver's Parent."""
        parent = f";Parent={self.span_id}" if self.span_id else ""
        return f"Root={self.trace_id}{parent};Sampled={1 if self.sampled else 0}"

    def __repr__(self) -> str:
        return f"TraceContext({self.header!r})"


_current: ContextVar[TraceContext | None] = ContextVar("strato_trace", default=None)


def new_trace_id(now: float | None = None) -> str:
    """A fresh X-Ray trace id: version 1, the time in 8 hex digits, 96 random bits in 24 hex digits."""
    return f"1-{int(time.time() if now is None else now) & 0xFFFFFFFF:08x}-{os.urandom(12).hex()}"


def new_span_id() -> str:
    """A fresh 64-bit span (X-Ray segment) id in 16 hex digits."""
    return os.urandom(8).hex()


_HEX = "0123456789abcdef"


def _hex(text: str, length: int) -> bool:
    # str.strip in C: nothing left once every lower-case hex digit is stripped from both ends
    return len(text) == length and not text.strip(_HEX)


def valid_trace_id(value: str) -> bool:
    return (
        len(value) == 35
        and value[:2] == "1-"
        and value[10] == "-"
        and not value[2:10].strip(_HEX)
        and not value[11:].strip(_HEX)
    )


#: the last header parsed and what it gave: a batch of messages sent in one trace carries one header, and
#: inside Lambda the runtime's ``_X_AMZN_TRACE_ID`` is read again at each send of the invocation
_last: tuple[str, TraceContext | None] = ("", None)


def parse(header: str | None) -> TraceContext | None:
    """An ``X-Amzn-Trace-Id`` value as a context (its Parent as ``span_id``); None when it has no valid
    Root. Unknown fields (``Self=``, ``Lineage=``) are ignored; ``Sampled=?`` counts as sampled."""
    global _last
    last = _last
    if header == last[0]:
        return last[1]
    if not header or not isinstance(header, str) or len(header) > 512:
        return None
    found = _parse(header)
    _last = (header, found)
    return found


#: the form strato (and X-Ray) sends, matched in one call (a third of what slicing and checking the
#: parts cost: a batch's messages each carry a header, and each batch sent from a new span a new one)
_SENT_FORM = re.compile("Root=(1-[0-9a-f]{8}-[0-9a-f]{24});Parent=([0-9a-f]{16});Sampled=([01?])")


def _parse(header: str) -> TraceContext | None:
    sent = _SENT_FORM.fullmatch(header)
    if sent is not None:
        given, parent, flag = sent.groups()
        return TraceContext(given, parent, flag != "0")
    root: str | None = None
    span: str | None = None
    sampled = True
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        key, value = key.strip(), value.strip().lower()
        if key == "Root":
            root = value
        elif key == "Parent":
            span = value if _hex(value, 16) else None
        elif key == "Sampled":
            sampled = value != "0"
    if root is None or not valid_trace_id(root):
        return None
    return TraceContext(root, span, sampled)


def current() -> TraceContext | None:
    """The context of the span running here; inside Lambda with none open, the invocation's own trace."""
    found = _current.get()
    if found is None and IN_LAMBDA:
        return parse(os.environ.get(LAMBDA_ENV))
    return found


def trace_id() -> str | None:
    """The id of the trace the running code belongs to (X-Ray's Root, ``1-...``), or None outside any."""
    found = current()
    return found.trace_id if found is not None else None


def outgoing_header() -> str | None:
    """The ``X-Amzn-Trace-Id`` value a send made here should carry, or None outside any trace."""
    found = current()
    return found.header if found is not None else None


def enter(context: TraceContext) -> Token[TraceContext | None]:
    """Make ``context`` current; give the token to :func:`leave` to restore the previous one."""
    return _current.set(context)


def leave(token: Token[TraceContext | None]) -> None:
    try:
        _current.reset(token)
    except ValueError:  # reset from another context (a generator finished elsewhere): just clear
        _current.set(None)


#: the process's ``strato.trace.Tracer`` while tracing is on (see ``strato.trace.setup``), else None
tracer: Any = None
