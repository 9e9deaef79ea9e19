"""examples/relay over real WebSockets against `strato dev`: the protocol of issue 24's contract."""

from __future__ import annotations

import base64
import json
import os
import re

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import start_dev_server, stop

APP = "examples/relay/app.py"
KEY = base64.b64encode(os.urandom(32)).decode()


class Client:
    """One side of the relay: JSON frames out, JSON frames in."""

    def __init__(self, base: str, role: str, query: str = "") -> None:
        self.ws = connect(f"{base}/ws/relay?role={role}{query}", open_timeout=15).__enter__()  # closed by close()

    def act(self, action: str, **fields) -> None:
        self.ws.send(json.dumps({"action": action, **fields}))

    def recv(self, timeout: float = 10) -> dict:
        return json.loads(self.ws.recv(timeout=timeout))

    def quiet(self, timeout: float = 0.3) -> bool:
        try:
            frame = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected frame {frame}")

    def close(self) -> None:
        self.ws.close()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def ws_base(url: str) -> str:
    return url.replace("http://", "ws://")


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    data = tmp_path_factory.mktemp("relay") / "data"
    server = start_dev_server(APP, data)
    yield ws_base(server.url), data
    stop(server.proc)


@pytest.fixture()
def clients():
    opened: list[Client] = []
    yield opened
    for client in opened:
        client.close()


def open_client(opened: list, base: str, role: str, query: str = "") -> Client:
    client = Client(base, role, query)
    opened.append(client)
    return client


def paired(opened: list, base: str) -> tuple[Client, Client, str]:
    cli = open_client(opened, base, "cli")
    cli.act("create", publicKey=KEY)
    session = cli.recv()
    web = open_client(opened, base, "web")
    web.act("join", pairingCode=session["pairingCode"], publicKey=KEY)
    assert web.recv() == {"type": "joined", "sessionId": session["sessionId"], "peerPublicKey": KEY}
    assert cli.recv() == {"type": "peer-joined", "peerPublicKey": KEY}
    return cli, web, session["sessionId"]


def test_bad_role_is_a_400(relay):
    base, _ = relay
    for query in ("", "?role=admin"):
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{base}/ws/relay{query}", open_timeout=15)
        assert refused.value.response.status_code == 400


def test_pairing_relays_data_both_ways(relay, clients):
    base, _ = relay
    cli = open_client(clients, base, "cli")
    cli.act("create", publicKey=KEY)
    session = cli.recv()
    assert session["type"] == "session" and re.fullmatch(r"[A-HJKMNP-Z2-9]{8}", session["pairingCode"])
    cli_key, web_key = KEY, base64.b64encode(os.urandom(32)).decode()
    web = open_client(clients, base, "web")
    web.act("join", pairingCode=session["pairingCode"].lower(), publicKey=web_key)  # typed in lower case
    assert web.recv() == {"type": "joined", "sessionId": session["sessionId"], "peerPublicKey": cli_key}
    assert cli.recv() == {"type": "peer-joined", "peerPublicKey": web_key}
    sid = session["sessionId"]
    cli.act("send", sessionId=sid, seq=0, payload="Y2lwaGVy")
    assert web.recv() == {"type": "data", "from": "cli", "seq": 0, "payload": "Y2lwaGVy"}
    web.act("send", sessionId=sid, seq=7, payload="a2V5")
    assert cli.recv() == {"type": "data", "from": "web", "seq": 7, "payload": "a2V5"}
    web.act("resize", sessionId=sid, cols=120, rows=40)
    assert cli.recv() == {"type": "resize", "sessionId": sid, "cols": 120, "rows": 40}
    assert cli.quiet() and web.quiet()  # the sender gets no echo of its own frames


def test_pairing_codes_are_single_use_and_checked(relay, clients):
    base, _ = relay
    cli = open_client(clients, base, "cli")
    cli.act("create", publicKey=KEY)
    code = cli.recv()["pairingCode"]
    first = open_client(clients, base, "web")
    first.act("join", pairingCode=code, publicKey=KEY)
    assert first.recv()["type"] == "joined"
    second = open_client(clients, base, "web")
    second.act("join", pairingCode=code, publicKey=KEY)
    assert second.recv()["code"] == "invalid-pairing"  # used
    second.act("join", pairingCode="ABCDEFGH", publicKey=KEY)
    assert second.recv()["code"] == "invalid-pairing"  # wrong
    second.act("join", pairingCode=code, publicKey="not a key")
    assert second.recv()["code"] == "bad-request"
    second.act("create", publicKey=KEY)
    assert second.recv()["code"] == "forbidden"  # browsers do not create sessions


def test_expired_code_is_refused(tmp_path):
    server = start_dev_server(APP, tmp_path / "data", env={"RELAY_CODE_TTL": "0.5"})
    try:
        base = ws_base(server.url)
        cli, web = Client(base, "cli"), Client(base, "web")
        cli.act("create", publicKey=KEY)
        code = cli.recv()["pairingCode"]
        import time

        time.sleep(1)
        web.act("join", pairingCode=code, publicKey=KEY)
        assert web.recv() == {"type": "error", "code": "invalid-pairing", "message": "wrong or expired pairing code"}
        cli.close()
        web.close()
    finally:
        stop(server.proc)


def test_a_sixth_viewer_is_refused(relay, clients):
    base, _ = relay
    cli, _web, sid = paired(clients, base)
    for _ in range(4):
        viewer = open_client(clients, base, "web")
        viewer.act("join", sessionId=sid, publicKey=KEY)
        assert viewer.recv()["type"] == "joined"
        assert cli.recv()["type"] == "peer-joined"
    sixth = open_client(clients, base, "web")
    sixth.act("join", sessionId=sid, publicKey=KEY)
    assert sixth.recv()["code"] == "session-full"
    clients[1].close()  # a viewer leaves: the CLI hears of it, and there is room again
    assert cli.recv() == {"type": "peer-left", "role": "web", "peerPublicKey": KEY}
    sixth.act("join", sessionId=sid, publicKey=KEY)
    assert sixth.recv()["type"] == "joined"


def test_sequence_numbers_and_payload_size(relay, clients):
    base, _ = relay
    cli, web, sid = paired(clients, base)
    cli.act("send", sessionId=sid, seq=5, payload="AA==")
    assert web.recv()["seq"] == 5
    for bad in (5, -1, 2**53):  # a replayed seq, out of range
        cli.act("send", sessionId=sid, seq=bad, payload="AA==")
        assert cli.recv()["code"] == "bad-seq"
    for bad in [{"seq": "6", "payload": "AA=="}, {"seq": 6, "payload": "not base64!"}, {"seq": 6}]:
        cli.act("send", sessionId=sid, **bad)
        assert cli.recv()["code"] == "bad-request"
    cli.act("send", sessionId=sid, seq=6, payload="A" * (24 * 1024 + 4))
    assert cli.recv()["code"] == "payload-too-large"
    cli.act("send", sessionId=sid, seq=6, payload="A" * (24 * 1024))
    assert web.recv()["seq"] == 6  # the refused frames were not relayed, the limit itself is fine
    assert web.quiet()
    cli.act("send", sessionId="nope", seq=7, payload="AA==")
    assert cli.recv()["code"] == "unknown-session"
    stranger = open_client(clients, base, "web")
    stranger.act("send", sessionId=sid, seq=1, payload="AA==")
    assert stranger.recv()["code"] == "not-in-session"


def test_cli_reconnects_and_resumes_nothing_lost_or_reordered(relay, clients):
    base, _ = relay
    cli, web, sid = paired(clients, base)
    for seq in range(3):
        cli.act("send", sessionId=sid, seq=seq, payload=b64(f"out{seq}"))
        assert web.recv()["seq"] == seq
    cli.close()
    assert web.recv() == {"type": "peer-left", "role": "cli"}
    for seq in range(1, 31):  # typed while the CLI was away: stored
        web.act("send", sessionId=sid, seq=seq, payload=b64(f"in{seq}"))
    assert web.quiet()
    back = open_client(clients, base, "cli")
    back.act("resume", sessionId=sid, after=10)
    assert back.recv() == {"type": "peer-joined", "peerPublicKey": KEY}  # who is watching
    got = [back.recv() for _ in range(20)]
    assert [m["seq"] for m in got] == list(range(11, 31)) and {m["from"] for m in got} == {"web"}
    assert got[0]["payload"] == b64("in11")
    assert web.recv() == {"type": "peer-joined", "peerPublicKey": KEY}
    back.act("send", sessionId=sid, seq=2, payload="AA==")  # the CLI's sequence carries on
    assert back.recv()["code"] == "bad-seq"
    back.act("send", sessionId=sid, seq=3, payload="AA==")
    assert web.recv()["seq"] == 3
    viewer = open_client(clients, base, "web")  # a late viewer replays the CLI's output
    viewer.act("join", sessionId=sid, publicKey=KEY)
    assert viewer.recv()["type"] == "joined"
    viewer.act("resume", sessionId=sid, after=-1)
    assert [viewer.recv()["seq"] for _ in range(4)] == [0, 1, 2, 3]


def test_close_ends_the_session(relay, clients):
    base, _ = relay
    cli, web, sid = paired(clients, base)
    cli.act("close", sessionId=sid)
    assert cli.recv() == {"type": "closed", "sessionId": sid}
    assert web.recv() == {"type": "closed", "sessionId": sid}
    web.act("send", sessionId=sid, seq=1, payload="AA==")
    assert web.recv()["code"] == "session-closed"


def test_only_ciphertext_is_stored(relay, clients):
    """The server stores what it relays verbatim: the payloads, which clients encrypt."""
    base, data = relay
    cli, web, sid = paired(clients, base)
    canary = base64.b64encode(b"relay-canary-stored").decode()
    cli.act("send", sessionId=sid, seq=0, payload=canary)
    assert web.recv()["payload"] == canary
    stored = b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())
    assert canary.encode() in stored and b"relay-canary-stored" not in stored


def test_a_burst_arrives_complete_for_every_viewer(relay, clients):
    """Frames run concurrently (as Lambda invocations do): every one arrives once; receivers order by seq."""
    base, _ = relay
    cli, web, sid = paired(clients, base)
    second = open_client(clients, base, "web")
    second.act("join", sessionId=sid, publicKey=KEY)
    assert second.recv()["type"] == "joined" and cli.recv()["type"] == "peer-joined"
    for seq in range(200):
        cli.act("send", sessionId=sid, seq=seq, payload=base64.b64encode(b"%d" % seq).decode())
    for viewer in (web, second):
        got = [viewer.recv() for _ in range(200)]
        assert sorted(m["seq"] for m in got) == list(range(200))
        assert all(base64.b64decode(m["payload"]) == b"%d" % m["seq"] for m in got)
        assert viewer.quiet()


def test_relay_auth_checks_tokens_and_keeps_users_apart(tmp_path):
    import strato

    data = tmp_path / "data"
    server = start_dev_server(APP, data, env={"RELAY_AUTH": "1"})
    pool_app = strato.App("relay", data_dir=data)
    try:
        pool = pool_app.user_pool("users")
        tokens = {}
        for name in ("ana", "bob"):
            pool.sign_up(name, "Corr3ct-horse!", {"email": f"{name}@example.com"})
            pool.confirm_sign_up(name, pool.outbox()[-1]["message"].split()[-1])
            tokens[name] = pool.sign_in(name, "Corr3ct-horse!").id_token
        import httpx

        page = httpx.get(server.url + "/", follow_redirects=False)  # the site wants sign-in first
        assert page.status_code == 302 and page.headers["location"].startswith("/_strato-signin"), page.headers
        base = ws_base(server.url)
        for query in ("", "&token=not-a-jwt"):
            with pytest.raises(InvalidStatus) as refused:
                connect(f"{base}/ws/relay?role=cli{query}", open_timeout=15)
            assert refused.value.response.status_code == 401
        opened: list[Client] = []
        try:
            cli = open_client(opened, base, "cli", f"&token={tokens['ana']}")
            cli.act("create", publicKey=KEY)
            session = cli.recv()
            bob = open_client(opened, base, "web", f"&token={tokens['bob']}")
            bob.act("join", pairingCode=session["pairingCode"], publicKey=KEY)
            assert bob.recv()["code"] == "invalid-pairing"  # ana's code is not bob's
            bob.act("join", sessionId=session["sessionId"], publicKey=KEY)
            assert bob.recv()["code"] == "unknown-session"
            header = {"Authorization": tokens["ana"]}
            web = Client.__new__(Client)
            web.ws = connect(f"{base}/ws/relay?role=web", additional_headers=header, open_timeout=15).__enter__()
            opened.append(web)
            web.act("join", pairingCode=session["pairingCode"], publicKey=KEY)
            assert web.recv()["type"] == "joined"
            assert pool_app.table("sessions", key="sessionId").get(session["sessionId"])["userId"]
        finally:
            for client in opened:
                client.close()
    finally:
        pool_app.close()
        stop(server.proc)
