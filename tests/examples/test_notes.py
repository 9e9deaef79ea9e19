"""examples/notes: its API through the test kit's in-process client (strato.testing), and its data
surviving a SIGKILL of a real `strato dev` process."""

from __future__ import annotations

import httpx
import pytest

ANA = {"x-user-id": "ana"}
BOB = {"x-user-id": "bob"}


pytestmark = pytest.mark.strato_app("examples/notes/app.py")


def test_create_list_get_edit_delete(client):
    assert client.get("/healthz").json() == {"ok": True}
    created = [client.post("/notes", json={"title": f"n{i}", "tag": "todo"}, headers=ANA).json() for i in range(5)]
    assert all(n["version"] == 1 for n in created)
    client.post("/notes", json={"title": "bob's"}, headers=BOB)

    page = client.get("/notes?limit=2", headers=ANA).json()
    assert [n["title"] for n in page["items"]] == ["n4", "n3"]
    rest = client.get(f"/notes?limit=10&cursor={page['cursor']}", headers=ANA).json()
    assert [n["title"] for n in rest["items"]] == ["n2", "n1", "n0"] and rest["cursor"] is None

    note_id = created[0]["id"]
    edited = client.patch(f"/notes/{note_id}", json={"title": "edited", "version": 1}, headers=ANA)
    assert edited.status == 200 and edited.json()["version"] == 2
    stale = client.patch(f"/notes/{note_id}", json={"title": "lost", "version": 1}, headers=ANA)
    assert stale.status == 409
    assert client.get(f"/notes/{note_id}", headers=ANA).json()["title"] == "edited"
    assert client.get(f"/notes/{note_id}", headers=BOB).status == 404

    assert len(client.get("/tags/todo", headers=ANA).json()["items"]) == 5
    assert client.get("/tags/todo", headers=BOB).json()["items"] == []

    assert client.delete(f"/notes/{note_id}", headers=ANA).status == 204
    assert client.delete(f"/notes/{note_id}", headers=ANA).status == 404


def test_settings_in_kv(client):
    assert client.get("/settings/theme", headers=ANA).status == 404
    assert client.put("/settings/theme", body="dark", headers=ANA).status == 204
    r = client.get("/settings/theme", headers=ANA)
    assert r.text == "dark" and r.headers["content-type"].startswith("text/plain")
    assert client.get("/settings/theme", headers=BOB).status == 404


def test_notes_with_ttl_disappear(client, clock):
    note = client.post("/notes", json={"title": "ephemeral", "ttl_seconds": 30}, headers=ANA).json()
    assert note["expires_at"] == clock.now() + 30
    clock.advance(29)
    assert client.get(f"/notes/{note['id']}", headers=ANA).status == 200
    clock.advance(1)
    assert client.get(f"/notes/{note['id']}", headers=ANA).status == 404
    assert client.get("/notes", headers=ANA).json()["items"] == []


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
def test_bad_input_is_rejected(client, body, status):
    assert client.post("/notes", json=body, headers=ANA).status == status
    assert client.get("/notes", headers=ANA).json()["items"] == []


def test_unauthenticated_and_malformed(client):
    assert client.get("/notes").status == 401
    r = client.post("/notes", body=b"{oops", headers=ANA)
    assert r.status == 400 and "malformed JSON" in r.json()["message"]
    assert client.get("/notes?limit=abc", headers=ANA).status == 400
    assert client.get("/notes?limit=5&cursor=tampered", headers=ANA).status == 400


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
