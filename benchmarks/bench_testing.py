"""The test kit's in-process client: requests per second on a route that reads one table item, against
chalice.test.Client running the same handler body (the same strato table get) in a Chalice app, and
against calling app.lambda_handler with a ready-made event (the floor: no request building at all).

Goal (issue 16): at least 5,000 requests/s.
"""

from __future__ import annotations

import tempfile

from .support import Row, rate


def _strato_app(data_dir: str):
    import strato

    app = strato.App("kitbench", data_dir=data_dir)
    items = app.table("items", key="id")
    api = app.http()

    @api.get("/items/{id}")
    def get_item(req, id):
        return items.get(id)

    for i in range(100):
        items.put({"id": f"i{i}", "n": i, "name": f"item {i}"})
    return app, items


def run(quick: bool = False) -> list[Row]:
    from strato.testing.client import Client

    n = 3_000 if quick else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        app, items = _strato_app(tmp)
        client = Client(lambda: app)
        assert client.get("/items/i1").json()["n"] == 1

        def kit(i: int) -> None:
            client.get(f"/items/i{i % 100}")

        chalice_rate = _chalice_rate(items, n)
        event = _ready_event(client)

        def floor(i: int) -> None:
            app.lambda_handler(event)

        for fn in (kit, floor):  # warm both
            rate(fn, 200)
        kit_rate = rate(kit, n)
        floor_rate = rate(floor, n)
        app.close()
    return [
        Row(
            "testing",
            "in-process client, table-get route",
            kit_rate,
            chalice_rate,
            "chalice.test.Client",
            "req/s",
            ">= 5,000 req/s",
        ),
        Row(
            "testing", "in-process client vs a ready event", kit_rate, floor_rate, "app.lambda_handler(event)", "req/s"
        ),
    ]


def _chalice_rate(items, n: int) -> float:
    from chalice import Chalice
    from chalice.test import Client as ChaliceClient

    capp = Chalice(app_name="kitbench")

    @capp.route("/items/{id}")
    def get_item(id):
        return items.get(id)

    with ChaliceClient(capp) as client:
        assert client.http.get("/items/i1").json_body["n"] == 1

        def call(i: int) -> None:
            client.http.get(f"/items/i{i % 100}")

        rate(call, 200)
        return rate(call, n)


def _ready_event(client) -> dict:
    """The event the kit builds for GET /items/i1, built once."""
    from strato.events.apigw_http import http_event

    return http_event(
        method="GET",
        raw_path="/items/i1",
        raw_query="",
        headers=[("host", "127.0.0.1")],
        body=b"",
        source_ip="127.0.0.1",
        route_key="GET /items/{id}",
        path_parameters={"id": "i1"},
        domain="127.0.0.1",
    )
