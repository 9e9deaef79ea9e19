"""Run every benchmark and print one table of ratios measured in this run.

python -m benchmarks.run            # full (about 2 minutes)
python -m benchmarks.run --quick    # smaller counts
python -m benchmarks.run --only table,http
python -m benchmarks.run --scale    # growth sweeps: cost per operation as depth / size / count grows
python -m benchmarks.run --peers    # the same tiny app on serverless-offline and Architect sandbox (npm)
"""

from __future__ import annotations

import argparse
import sys

from . import (
    bench_analytics,
    bench_auth,
    bench_bot,
    bench_chat,
    bench_clock,
    bench_coldstart,
    bench_console,
    bench_graphql,
    bench_http,
    bench_http_ecosystem,
    bench_jobs,
    bench_messaging,
    bench_metrics,
    bench_relay,
    bench_reload,
    bench_site,
    bench_storage,
    bench_streams,
    bench_table,
    bench_testing,
    bench_tracing,
    bench_websocket,
    bench_workflow,
)
from .support import print_rows, print_scale

SUITES = {
    "table": bench_table,
    "storage": bench_storage,
    "messaging": bench_messaging,
    "websocket": bench_websocket,
    "streams": bench_streams,
    "metrics": bench_metrics,
    "http": bench_http,
    "http-ecosystem": bench_http_ecosystem,
    "coldstart": bench_coldstart,
    "auth": bench_auth,
    "jobs": bench_jobs,
    "bot": bench_bot,
    "testing": bench_testing,
    "clock": bench_clock,
    "reload": bench_reload,
    "graphql": bench_graphql,
    "workflow": bench_workflow,
    "site": bench_site,
    "tracing": bench_tracing,
    "console": bench_console,
    "relay": bench_relay,
    "chat": bench_chat,
    "analytics": bench_analytics,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts, noisier numbers")
    parser.add_argument("--only", default=",".join(SUITES), help=f"comma-separated subset of {','.join(SUITES)}")
    parser.add_argument("--scale", action="store_true", help="run the growth sweeps instead of the ratio table")
    parser.add_argument("--peers", action="store_true", help="strato vs serverless-offline and Architect sandbox")
    args = parser.parse_args(argv)
    if args.peers:
        from . import bench_peers

        print_rows(bench_peers.run(quick=args.quick))
        return 0
    names = args.only.split(",")
    for name in names:
        if name not in SUITES:
            parser.error(f"unknown suite {name!r}")
    if args.scale:
        points = []
        for name in names:
            sweep = getattr(SUITES[name], "scale", None)
            if sweep is not None:
                print(f"sweeping {name} ...", file=sys.stderr, flush=True)
                points += sweep(quick=args.quick)
        print_scale(points)
        return 0
    rows = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows += SUITES[name].run(quick=args.quick)
    print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
