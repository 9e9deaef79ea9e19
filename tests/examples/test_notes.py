"""examples/notes end to end: a real `strato dev` process driven over HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

ANA = {"x-user-id": "ana"}
BOB = {"x-user-id": "bob"}


@pytest.fixture
def api(dev_server):
    server = dev_server("examples/notes/app.py")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def test_create_list_get_edit_delete(api):
    assert api.get("/healthz").json() == {"ok": True}
    created = [api.post("/notes", json={"title": f"n{i}", "tag": "todo"}, headers=ANA).json() for i in range(5)]
    assert all(n["version"] == 1 for n in created)
    api.post("/notes", json={"title": "bob's"}, headers=BOB)

    page = api.get("/notes?limit=2", headers=ANA).json()
    assert [n["title"] for n in page["items"]] == ["n4", "n3"]
    rest = api.get(f"/notes?limit=10&cursor={page['cursor']}", headers=ANA).json()
    assert [n["title"] for n in rest["items"]] == ["n2", "n1", "n0"] and rest["cursor"] is None

    note_id = created[0]["id"]
    edited = api.patch(f"/notes/{note_id}", json={"title": "edited", "version": 1}, headers=ANA)
    assert edited.status_code == 200 and edited.json()["version"] == 2
    stale = api.patch(f"/notes/{note_id}", json={"title": "lost", "version": 1}, headers=ANA)
    assert stale.status_code == 409
    assert api.get(f"/notes/{note_id}", headers=ANA).json()["title"] == "edited"
    assert api.get(f"/notes/{note_id}", headers=BOB).status_code == 404

    assert len(api.get("/tags/todo", headers=ANA).json()["items"]) == 5
    assert api.get("/tags/todo", headers=BOB).json()["items"] == []

    assert api.delete(f"/notes/{note_id}", headers=ANA).status_code == 204
    assert api.delete(f"/notes/{note_id}", headers=ANA).status_code == 404


def test_settings_in_kv(api):
    assert api.get("/settings/theme", headers=ANA).status_code == 404
    assert api.put("/settings/theme", content="dark", headers=ANA).status_code == 204
    r = api.get("/settings/theme", headers=ANA)
    assert r.text == "dark" and r.headers["content-type"].startswith("text/plain")
    assert api.get("/settings/theme", headers=BOB).status_code == 404


def test_notes_with_ttl_disappear(api):
    note = api.post("/notes", json={"title": "ephemeral", "ttl_seconds": 0.5}, headers=ANA).json()
    assert api.get(f"/notes/{note['id']}", headers=ANA).status_code == 200
    time.sleep(1.0)
    assert api.get(f"/notes/{note['id']}", headers=ANA).status_code == 404
    assert api.get("/notes", headers=ANA).json()["items"] == []


@pytest.mark.parametrize(
    "body,status",
    [
        ({"title": ""}, 400),
        ({"title": "x" * 201}, 400),
        ({"title": 5}, 400),
        ([1, 2], 400),
        ({"title": "ok", "ttl_seconds": -1}, 400),
        ({"title": "ok", "tag": 3}, 400),
    ],
)
def test_bad_input_is_rejected(api, body, status):
    assert api.post("/notes", json=body, headers=ANA).status_code == status
    assert api.get("/notes", headers=ANA).json()["items"] == []


def test_unauthenticated_and_malformed(api):
    assert api.get("/notes").status_code == 401
    r = api.post("/notes", content=b"{oops", headers=ANA)
    assert r.status_code == 400 and "malformed JSON" in r.json()["message"]
    assert api.get("/notes?limit=abc", headers=ANA).status_code == 400
    assert api.get("/notes?limit=5&cursor=tampered", headers=ANA).status_code == 400


def test_data_survives_a_restart(dev_server, tmp_path):
    server = dev_server("examples/notes/app.py")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        note = client.post("/notes", json={"title": "durable"}, headers=ANA).json()
    server.proc.kill()  # SIGKILL: no clean shutdown
    server.proc.wait(10)
    from tests.conftest import start_dev_server, stop

    again = start_dev_server("examples/notes/app.py", tmp_path / "data0")
    try:
        with httpx.Client(base_url=again.url, timeout=10) as client:
            assert client.get(f"/notes/{note['id']}", headers=ANA).json()["title"] == "durable"
    finally:
        stop(again.proc)
