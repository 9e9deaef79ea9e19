"""The console's first paint under `strato dev` with 10,000 spans stored, in headless Chromium (Debian's
/usr/bin/chromium through playwright) and, where installed, Debian's Firefox ESR (over WebDriver BiDi):
first contentful paint and the time until the request log is on screen (its data fetched and rendered),
from navigation start, each in a fresh browser context or with the cache bypassed. The baseline is the
same page over an empty span store, measured in the same run.

Target (issue 21): first paint < 500 ms with 10,000 spans."""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from .support import Row, free_port, process

APP = "tests/apps/console_app.py"
SPANS = 10_000
HOPS = 5  # spans per trace: an HTTP request, a consumer, a delivery, two WebSocket sends
MARK = "strato:request-log"  # the page marks the moment the request log is on screen
FCP = "performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint')?.startTime"


def fill(data_dir: Path, spans: int) -> None:
    """``spans`` spans in traces of ``HOPS`` hops, written as strato dev's tracer writes them."""
    from strato.trace import SpanStore, Tracer

    store = SpanStore(data_dir, capacity=SPANS)
    tracer = Tracer([store.add])
    for n in range(spans // HOPS):
        with tracer.span("http", "http", f"POST /jobs/{n}") as entry:
            entry.attributes.update(method="POST", path=f"/jobs/{n}", status=202)
            with tracer.span("queue", "work", "consume"), tracer.span("websocket.send", "live", "1 connections"):
                pass
            with tracer.span("topic", "events", "notify"), tracer.span("webhook", "events", "http://127.0.0.1/h"):
                pass
        if n % 500 == 0:
            store.flush()
    store.close()


def measure(url: str, rounds: int) -> tuple[list[float], list[float]]:
    """(first contentful paint ms, request log on screen ms) per round."""
    from playwright.sync_api import sync_playwright

    paints, ready = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        try:
            for _ in range(rounds + 1):  # the first round warms the server (imports, the store's first read)
                context = browser.new_context()
                page = context.new_page()
                page.goto(url + "/_strato/console#/requests")
                page.wait_for_selector('[data-testid="request-log"]')
                page.wait_for_function(f"() => performance.getEntriesByName('{MARK}').length > 0")
                done = page.evaluate(f"performance.getEntriesByName('{MARK}')[0].startTime")
                fcp = page.evaluate(FCP)
                paints.append(float(fcp))
                ready.append(float(done))
                context.close()
        finally:
            browser.close()
    return paints[1:], ready[1:]


def measure_firefox(url: str, rounds: int) -> tuple[list[float], list[float]]:
    """The same in Debian's Firefox ESR over WebDriver BiDi (tests/firefox.py), the cache bypassed."""
    from tests.firefox import Firefox

    paints, ready = [], []
    with tempfile.TemporaryDirectory() as home:
        browser = Firefox(Path(home))
        try:
            browser.send("network.setCacheBehavior", {"cacheBehavior": "bypass"})
            for _ in range(rounds + 1):
                browser.goto("about:blank")
                browser.goto(url + "/_strato/console#/requests")
                ready.append(float(browser.wait_for(f"performance.getEntriesByName('{MARK}')[0]?.startTime")))
                paints.append(float(browser.wait_for(FCP)))
        finally:
            browser.close()
    return paints[1:], ready[1:]


def run(quick: bool = False) -> list[Row]:
    if shutil.which("chromium") is None:
        print("skipping console benchmark: install chromium and playwright")
        return []
    rounds = 5 if quick else 15
    results = {}
    with ExitStack() as stack:
        for label, spans in (("empty", 0), ("full", SPANS)):
            data = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "data"
            data.mkdir()
            if spans:
                fill(data, spans)
            port = free_port()
            stack.enter_context(
                process(
                    [
                        sys.executable,
                        "-m",
                        "strato.cli",
                        "dev",
                        APP,
                        "--port",
                        str(port),
                        "--data",
                        str(data),
                        "--log-level",
                        "warning",
                    ],
                    port,
                )
            )
            results[label] = measure(f"http://127.0.0.1:{port}", rounds)
            if shutil.which("firefox-esr"):
                results[f"{label} firefox"] = measure_firefox(f"http://127.0.0.1:{port}", rounds)
    base = "same page, 0 spans"
    rows = []
    for browser in ("", " firefox"):
        if f"full{browser}" not in results:
            continue
        full, empty = results[f"full{browser}"], results[f"empty{browser}"]
        metrics = (f"first contentful paint, {SPANS:,} spans", f"request log on screen, {SPANS:,} spans")
        rows += [
            Row(
                "console",
                metric + (" (Firefox ESR)" if browser else ""),
                statistics.median(full[i]),
                statistics.median(empty[i]),
                base,
                "ms",
                "< 500 ms",
                False,
            )
            for i, metric in enumerate(metrics)
        ]
    return rows


if __name__ == "__main__":
    from .support import print_rows

    print_rows(run(quick="--quick" in sys.argv))
