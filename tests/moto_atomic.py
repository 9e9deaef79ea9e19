"""moto_server with DynamoDB requests applied one at a time, as DynamoDB applies writes to an item.

moto's DynamoDB backend checks a condition and writes in plain Python with no lock, so under its
threaded server two concurrent ``PutItem ... attribute_not_exists`` both succeed and an ``ADD`` can
be lost (tests/conformance/test_cache.py saw 99 of 100 increments, one run in ten). DynamoDB makes
each item write atomic: conditional writes are checked against the item as it is, and ADD increments
counters atomically (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
example_dynamodb_Scenario_AtomicCounterOperations_section.html: "Increment counters atomically using
ADD and SET operations"). Serialising moto's DynamoDB calls restores that; other services (SQS long
polls among them) keep moto's own threading, so a waiting ReceiveMessage blocks nothing else.

Run as ``python tests/moto_atomic.py -H 127.0.0.1 -p PORT`` (as ``python -m moto.server``).
"""

from __future__ import annotations

import argparse
import os
import threading
from typing import Any


class DynamoDBOneAtATime:
    """WSGI middleware: requests whose X-Amz-Target names DynamoDB run under one lock."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))  # the whole body made inside the lock


def main() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description="moto_server, DynamoDB writes atomic")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds queue URLs etc. from it, as its main() does
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, DynamoDBOneAtATime(app), threaded=True)


if __name__ == "__main__":
    main()
