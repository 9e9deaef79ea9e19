"""strato backup / restore on a data directory in use: writers keep writing table items, queue messages
and bucket objects through a running `strato dev` while the backup runs and after it; the restored data
holds, for each writer, exactly its writes up to one point between the backup's start and end (every write
acknowledged before the backup started, none sent after it ended, no gap, no torn object)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import strato
from tests.conftest import ROOT, start_dev_server, stop

APP = "tests/apps/backup_app.py"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "strato.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def object_op():
    spec = importlib.util.spec_from_file_location("backup_app_ops", ROOT / APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.object_op


class Writer(threading.Thread):
    """POSTs /{kind}/1, /{kind}/2, ... one at a time, noting when each was sent and acknowledged."""

    def __init__(self, url: str, kind: str) -> None:
        super().__init__(daemon=True)
        self.url, self.kind = url, kind
        self.sent: list[float] = []  # sent[i]: when write i + 1 was sent
        self.acked: list[float] = []
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(timeout=30) as client:
                seq = 0
                while not self.halt.is_set():
                    seq += 1
                    self.sent.append(time.monotonic())
                    response = client.post(f"{self.url}/{self.kind}/{seq}")
                    assert response.status_code == 200, response.text
                    self.acked.append(time.monotonic())
        except BaseException as exc:  # surfaced by the test
            self.error = exc

    def bounds(self, began: float, ended: float) -> tuple[int, int]:
        """(writes acknowledged before the backup began, writes sent before it ended)."""
        return sum(t < began for t in self.acked), sum(t < ended for t in self.sent)


def expected_objects(upto: int) -> dict[str, bytes]:
    op = object_op()
    state: dict[str, bytes] = {}
    for seq in range(1, upto + 1):
        action, key, body = op(seq)
        if action == "put":
            state[key] = body.encode()
        else:
            state.pop(key, None)
    return state


def test_backup_under_load_restores_the_state_at_its_point(tmp_path):
    data, snapshot = tmp_path / "data", tmp_path / "snapshot"
    server = start_dev_server(APP, data)
    try:
        writers = [Writer(server.url, kind) for kind in ("item", "message", "object", "pair")]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 30
        while min(len(w.acked) for w in writers) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        began = time.monotonic()
        made = cli("backup", "--data", str(data), "--to", str(snapshot))
        ended = time.monotonic()
        assert made.returncode == 0, made.stderr
        assert "databases" in made.stdout and "object files" in made.stdout
        target = max(len(w.acked) for w in writers) + 30
        while min(len(w.acked) for w in writers) < target and time.monotonic() < deadline + 30:
            time.sleep(0.05)  # they keep writing after the backup
        refused = cli("restore", str(snapshot), "--data", str(data))
        assert refused.returncode != 0 and "strato dev" in refused.stderr  # the dev server holds the folder
        for writer in writers:
            writer.halt.set()
        for writer in writers:
            writer.join(30)
            assert writer.error is None, writer.error
    finally:
        stop(server.proc)
    bounds = {w.kind: w.bounds(began, ended) for w in writers}
    assert all(len(w.acked) > hi for w, (_, hi) in zip(writers, bounds.values(), strict=True))  # writes after it

    restored = cli("restore", str(snapshot), "--data", str(data))
    assert restored.returncode == 0, restored.stderr
    assert (tmp_path / "data.before-restore").is_dir()  # what it replaced is kept
    assert not (tmp_path / "data.restoring").exists()

    app = strato.App("backuptest", provider="local", data_dir=data)
    try:
        # table items: 1..k, no gap, k within the bounds
        items = app.table("items", key="writer", sort="seq:number")
        seqs = [int(item["seq"]) for item in items.iterate("w")]
        low, high = bounds["item"]
        assert seqs == list(range(1, len(seqs) + 1)) and low <= len(seqs) <= high, (len(seqs), bounds["item"])
        # queue messages: each of 1..k once
        queue, bodies = app.queue("jobs"), []
        while batch := queue.receive(10, visibility_timeout=300):
            bodies += [int(m.body) for m in batch]
        low, high = bounds["message"]
        assert sorted(bodies) == list(range(1, len(bodies) + 1)) and low <= len(bodies) <= high
        # bucket: the objects after writes 1..k for one k within the bounds, every one with its own bytes
        # one instant for every database: a pair's item (written second, in tables.db) never without its
        # object (written first, in buckets.db), though the backup copies buckets.db before tables.db
        files = app.bucket("files")
        pairs = [int(item["seq"]) for item in items.iterate("p")]
        pair_objects = {int(o.key.split("/")[1]) for o in files.iterate("pair/")}
        assert pairs == list(range(1, len(pairs) + 1)) and set(pairs) <= pair_objects
        assert len(pair_objects) - len(pairs) <= 1  # at most the one whose item was not written yet
        stored = {o.key: (files.get(o.key), o.etag) for o in files.iterate() if not o.key.startswith("pair/")}
        for body, etag in stored.values():
            assert etag == f'"{hashlib.md5(body).hexdigest()}"'  # nothing torn: the bytes the metadata says
        low, high = bounds["object"]
        state = {key: body for key, (body, _) in stored.items()}
        assert any(expected_objects(k) == state for k in range(low, high + 1)), (bounds["object"], sorted(state))
    finally:
        app.close()
    # the restored folder serves again
    server = start_dev_server(APP, data)
    try:
        assert httpx.get(f"{server.url}/item/1").json()["seq"] == 1
    finally:
        stop(server.proc)


def test_backup_and_restore_refuse_what_they_cannot_use(tmp_path):
    missing = cli("backup", "--data", str(tmp_path / "nothing"), "--to", str(tmp_path / "b"))
    assert missing.returncode != 0 and "no data directory" in missing.stderr
    data = tmp_path / "data"
    app = strato.App("solo", provider="local", data_dir=data)
    app.table("t", key="id").put({"id": "a"})
    app.close()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    busy = cli("backup", "--data", str(data), "--to", str(tmp_path / "full"))
    assert busy.returncode != 0 and "not empty" in busy.stderr
    wrong = cli("restore", str(tmp_path / "full"), "--data", str(data))
    assert wrong.returncode != 0 and "not a strato backup" in wrong.stderr
    fresh = cli("backup", "--data", str(data), "--to", str(tmp_path / "b"))
    assert fresh.returncode == 0, fresh.stderr
    into_new = cli("restore", str(tmp_path / "b"), "--data", str(tmp_path / "elsewhere"))  # no folder there yet
    assert into_new.returncode == 0, into_new.stderr
    solo = strato.App("solo", provider="local", data_dir=tmp_path / "elsewhere")
    assert solo.table("t", key="id").get("a") == {"id": "a"}
    solo.close()


def test_a_file_freed_during_a_backup_is_retired_until_it_is_copied(tmp_path):
    """The pin: an object replaced after the snapshot keeps its old bytes for the copy."""
    from strato.runtime.backup_guard import pin

    data = tmp_path / "data"
    app = strato.App("pins", provider="local", data_dir=data)
    bucket = app.bucket("b")
    try:
        bucket.put("k", "old")
        old_files = {p.name for p in (data / "buckets" / "b" / "objects").rglob("*") if p.is_file()}
        with pin(data):
            bucket.put("k", "new")  # frees the old file
            retired = list((data / "buckets" / "b" / "retired").iterdir())
            assert len(retired) == 1 and retired[0].read_bytes() == b"old"
            assert old_files == {retired[0].name}
        bucket.put("k", "newer")  # no backup: freed files go at once
        assert len(list((data / "buckets" / "b" / "retired").iterdir())) == 1
    finally:
        app.close()


def test_two_backups_at_once_are_refused(tmp_path):
    from strato.runtime.backup_guard import pin

    data = tmp_path / "data"
    data.mkdir()
    with pin(data), pytest.raises(RuntimeError, match="another backup"), pin(data):
        pass
    (data / "backup.pin").write_text("999999999")  # left by a backup that died: taken over
    with pin(data):
        assert (data / "backup.pin").read_text() == str(os.getpid())
    assert not Path(data / "backup.pin").exists()
