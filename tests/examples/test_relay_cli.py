"""The relay CLI runs bash in a PTY; a Python viewer (the browser's protocol) pairs, types, reads.
The server's data directory never holds the plaintext."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from examples.relay.crypto import Channel, KeyPair, Rejected, key_id, pack, unpack
from examples.relay.viewer import Viewer

from tests.conftest import ROOT, start_dev_server, stop

APP = "examples/relay/app.py"


def start_cli(url: str) -> subprocess.Popen:
    """`python -m examples.relay.cli --url URL -- bash` (no rc files, a plain prompt); stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "examples.relay.cli", "--url", url, "--", "bash", "--norc", "--noprofile", "-i"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PS1": "$ ", "TERM": "xterm"},
    )


@pytest.fixture()
def shared(tmp_path):
    """strato dev plus `python -m examples.relay.cli -- bash`; yields (server, cli process, pairing code)."""
    server = start_dev_server(APP, tmp_path / "data")
    cli = start_cli(server.url.replace("http", "ws") + "/ws/relay")
    try:
        line = cli.stderr.readline().decode()
        code = re.search(r"pairing code ([A-Z2-9]{8})", line)
        assert code, line
        opened = cli.stderr.readline().decode()
        assert f"{server.url}/?code={code.group(1)}" in opened, opened
        yield server, cli, code.group(1)
    finally:
        cli.terminate()
        cli.wait(10)
        stop(server.proc)


def test_a_viewer_types_and_the_server_never_sees_plaintext(shared):
    server, _, code = shared
    viewer = Viewer(server.url.replace("http", "ws") + "/ws/relay")
    try:
        assert viewer.join(code=code)["type"] == "joined"
        viewer.type(b"echo relay-canary-$((6*7))\r")
        viewer.read_until(b"relay-canary-42")
        viewer.type(b"stty size\r")
        viewer.read_until(b"24 80")
        viewer.type(b"seq 1 20000; echo seq-$((1+1))-done\r")  # ~110 KB of output: many frames, in order
        output = viewer.read_until(b"seq-2-done\r\n", timeout=60)
        plain = re.sub(rb"\x1b\[\?2004[hl]", b"", output.split(b"seq 1 20000", 1)[1]).replace(b"\r", b"")
        numbers = [line for line in plain.split(b"\n") if line.isdigit()]
        assert [int(n) for n in numbers] == list(range(1, 20001))
        # no terminal of its own: the CLI takes the browser's window size (and relays the CLI's own otherwise)
        viewer.ws.send(json.dumps({"action": "resize", "sessionId": viewer.session_id, "cols": 100, "rows": 30}))
        for attempt in range(5):  # the resize and the keystrokes are separate frames: either may land first
            viewer.type(b"stty size\r")
            try:
                viewer.read_until(b"30 100", timeout=3)
                break
            except AssertionError:
                assert attempt < 4, "the PTY never took the browser's size"
    finally:
        viewer.close()
    files = [p for p in server.data_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        raw = path.read_bytes()
        assert b"relay-canary" not in raw and b"stty size" not in raw, path
    import base64

    import strato

    stored = strato.App("relay", data_dir=server.data_dir)
    try:
        items = list(stored.table("messages", key="sessionId", sort="position").iterate(viewer.session_id))
    finally:
        stored.close()
    assert {item["from"] for item in items} == {"cli", "web"}
    for item in items:  # every stored item, decoded: ciphertext only
        assert b"relay-canary" not in base64.b64decode(item["payload"]) and b"stty" not in base64.b64decode(
            item["payload"]
        )


def test_the_cli_reconnects_and_resumes_without_losing_keystrokes(tmp_path):
    """The server restarts on the same port and data: the CLI resumes, the viewer's typing arrives."""
    from tests.conftest import free_port

    port = free_port()
    data = tmp_path / "data"

    def start() -> subprocess.Popen:
        return start_dev_server(APP, data, port=port).proc

    server = start()
    url = f"ws://127.0.0.1:{port}/ws/relay"
    cli = start_cli(url)
    viewer = None
    try:
        code = re.search(r"pairing code (\w{8})", cli.stderr.readline().decode()).group(1)
        viewer = Viewer(url)
        joined = viewer.join(code=code)
        viewer.type(b"echo one-$((1+1))\r")
        viewer.read_until(b"one-2")
        viewer.close()
        stop(server)  # the relay goes away; the CLI keeps retrying
        server = start()
        viewer2 = Viewer(url)
        viewer = viewer2
        assert viewer.join(session_id=joined["sessionId"])["type"] == "joined"
        for n in range(5):  # typed before (or while) the CLI is back: stored, then resumed
            viewer.type(b"echo again-$((%d*3))\r" % n)
        seen = viewer.read_until(b"again-12", timeout=40)
        assert [int(x) for x in re.findall(rb"again-(\d+)\r?\n", seen)] == [0, 3, 6, 9, 12]
    finally:
        if viewer:
            viewer.close()
        cli.terminate()
        cli.wait(10)
        stop(server)


def test_the_cli_stops_when_the_relay_refuses_its_token(tmp_path):
    server = start_dev_server(APP, tmp_path / "data", env={"RELAY_AUTH": "1"})
    try:
        url = server.url.replace("http", "ws") + "/ws/relay"
        done = subprocess.run(
            [sys.executable, "-m", "examples.relay.cli", "--url", url, "--token", "not-a-jwt", "--", "sleep", "60"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 1 and "HTTP 401" in done.stderr, done.stderr
    finally:
        stop(server.proc)


def test_tampered_replayed_and_reordered_frames(tmp_path):
    cli, web = KeyPair(), KeyPair()
    sender, receiver = Channel.between(cli, "cli", web.public_b64), Channel.between(web, "web", cli.public_b64)
    mine = key_id(web.public_b64)
    frames = [(seq, unpack(pack([sender.seal(seq, b"%d" % seq)]))[mine]) for seq in (0, 1, 5, 9)]
    assert receiver.open(*frames[1]) == []  # early: held until its predecessor arrives
    assert receiver.open(*frames[0]) == [b"0", b"1"]
    tampered = bytearray(frames[2][1])
    tampered[-1] ^= 1
    for bad in [(5, bytes(tampered)), (6, frames[2][1]), frames[0]]:  # flipped bit, wrong seq, replay
        with pytest.raises(Rejected):
            receiver.open(*bad)
    assert receiver.open(*frames[2]) == [b"5"] and receiver.open(*frames[3]) == [b"9"]
    with pytest.raises(Rejected):
        receiver.open(*frames[2])  # replayed later
    with pytest.raises(Rejected):
        unpack("not base64!")
    stranger = Channel.between(KeyPair(), "web", cli.public_b64)
    with pytest.raises(Rejected):
        stranger.open(*frames[3])  # another viewer's key
