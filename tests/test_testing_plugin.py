"""The test kit as a user gets it: a project of its own with no conftest, where `pip install strato` alone
registers the plugin (the pytest11 entry point), the ini option names the app, and strato_providers runs
a test on local and on aws (a moto server the plugin starts on a free loopback port)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

APP = '''
import strato

app = strato.App("shop")
orders = app.table("orders", key="id")
paid = app.queue("paid")
api = app.http()


@api.post("/orders/{id}")
def place(req, id):
    orders.put({"id": id, "state": "new"})
    paid.send({"id": id})
    return 201, {"id": id}


@api.get("/orders/{id}")
def show(req, id):
    return orders.get(id) or (404, {"message": "no such order"})


@paid.consumer()
def settle(msg):
    orders.update(msg.json()["id"], set={"state": "paid"})
'''

TESTS = '''
import pytest


@pytest.mark.strato_providers("local", "aws")
def test_order_is_settled(client, drain, strato_provider):
    assert client.post("/orders/o1").status == 201
    assert client.get("/orders/o1").json()["state"] == "new"
    drain()
    assert client.get("/orders/o1").json()["state"] == "paid"


def test_isolated(client):
    assert client.get("/orders/o1").status == 404
'''


def test_a_user_project_gets_the_fixtures_from_the_entry_point(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "test_shop.py").write_text(TESTS)
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.pytest.ini_options]
            strato_app = "app.py"
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRATO_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
