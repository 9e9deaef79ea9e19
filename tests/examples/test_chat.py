"""examples/chat over real HTTP and WebSocket clients against `strato dev`: issue 25's contract."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import start_dev_server, stop
from tests.examples.chat_client import APP, PASSWORD, Tab, outbox_code, sign_up


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("chat") / "data"
    dev = start_dev_server(APP, data)
    with httpx.Client(base_url=dev.url, timeout=15) as http:
        yield dev, http
    stop(dev.proc)


@pytest.fixture()
def tabs():
    opened: list[Tab] = []
    yield opened
    for tab in opened:
        tab.close()


def user(server, name: str) -> dict:
    dev, http = server
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    return {**sign_up(http, dev.data_dir, email, name.title()), "email": email}


def tab(server, tabs: list, who: dict) -> Tab:
    opened = Tab(server[0].url, who["idToken"])
    tabs.append(opened)
    return opened


def bearer(who: dict) -> dict:
    return {"authorization": f"Bearer {who['idToken']}"}


def room() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


def test_sign_up_confirm_and_login_refusals(server):
    dev, http = server
    email = f"eve-{uuid.uuid4().hex[:8]}@example.com"
    assert http.post("/auth/signup", json={"email": email, "password": "short", "name": "Eve"}).status_code == 400
    assert http.post("/auth/signup", json={"email": "not-mail", "password": PASSWORD, "name": "Eve"}).status_code == 400
    assert http.post("/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 400
    assert http.post("/auth/signup", json={"email": email, "password": PASSWORD, "name": "Eve"}).status_code == 201
    again = http.post("/auth/signup", json={"email": email, "password": PASSWORD, "name": "Eve"})
    assert again.status_code == 409 and again.headers["x-error-code"] == "UsernameExistsException"
    unconfirmed = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert unconfirmed.status_code == 403
    assert http.post("/auth/confirm", json={"email": email, "code": "000000"}).status_code == 400
    code = outbox_code(dev.data_dir, email)  # the mail the pool sent to this address
    assert http.post("/auth/confirm", json={"email": email, "code": code}).status_code == 200
    wrong = http.post("/auth/login", json={"email": email, "password": "Wrong-horse-1!"})
    nobody = http.post("/auth/login", json={"email": "nobody@example.com", "password": PASSWORD})
    assert wrong.status_code == nobody.status_code == 401  # the same answer: sign-in does not reveal users
    tokens = http.post("/auth/login", json={"email": email, "password": PASSWORD}).json()
    assert {"idToken", "accessToken", "refreshToken", "expiresIn"} <= set(tokens) and tokens["expiresIn"] == 3600
    me = http.get("/api/me", headers={"authorization": f"Bearer {tokens['idToken']}"}).json()
    assert me == {"userId": tokens["userId"], "name": "Eve"}


def test_connect_needs_a_valid_unexpired_token(server, tabs):
    import strato

    dev, _ = server
    ana = user(server, "ana")
    pool = strato.App("chat", data_dir=dev.data_dir).user_pool("users")
    claims = pool.verify(ana["idToken"])
    t = time.time()
    header, payload, signature = ana["idToken"].split(".")
    forged = f"{header}.{payload}.{signature[:-6]}AAAAAA"
    expired = pool.backend.store.keys.sign({**claims, "iat": t - 7200, "exp": t - 3600})  # really signed, expired
    base = dev.url.replace("http://", "ws://")
    for query in ("", "?token=", "?token=not-a-jwt", f"?token={forged}", f"?token={expired}"):
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{base}/ws/chat{query}", open_timeout=10).close()
        assert refused.value.response.status_code == 401, query
    tab(server, tabs, ana).act("join", room=room())  # the real token connects


def test_rooms_messages_typing_read_and_presence_over_tabs(server, tabs):
    ana, bob = user(server, "ana"), user(server, "bob")
    r = room()
    ana1, ana2 = tab(server, tabs, ana), tab(server, tabs, ana)
    ana1.act("join", room=r)
    assert ana1.expect("joined", room=r)["members"] == [{"userId": ana["userId"], "name": "Ana", "online": True}]
    bob1 = tab(server, tabs, bob)
    bob1.act("join", room=r)
    roster = bob1.expect("joined", room=r)["members"]
    assert {m["userId"]: m["online"] for m in roster} == {ana["userId"]: True, bob["userId"]: True}
    ana2.expect("joined", room=r, user=bob["userId"])

    ana1.act("sendMessage", room=r, text="hi bob", clientId="c1")
    got = [t.expect("message", clientId="c1") for t in (ana1, ana2, bob1)]  # the sender's tabs too: the ack
    assert len({g["id"] for g in got}) == 1
    assert got[2] == {**got[0], "room": r, "from": ana["userId"], "text": "hi bob", "name": "Ana"}
    ana1.act("sendMessage", room=r, text="hi bob", clientId="c1")  # a resend after a lost ack
    assert ana1.expect("message", clientId="c1")["id"] == got[0]["id"]
    bob1.quiet("message")  # not delivered twice

    for bad, code in (({"text": ""}, "bad-request"), ({"text": "x" * 4001}, "bad-request")):
        ana1.act("sendMessage", room=r, clientId="c2", **bad)
        assert ana1.expect("error", clientId="c2")["code"] == code
    ana1.act("sendMessage", text="x" * 4000, room=r, clientId="c3")
    assert len(bob1.expect("message", clientId="c3")["text"]) == 4000
    ana1.act("sendMessage", room=room(), text="not a member", clientId="c4")
    assert ana1.expect("error", clientId="c4")["code"] == "forbidden"

    bob1.act("typing", room=r)
    assert ana2.expect("typing") == {"type": "typing", "room": r, "from": bob["userId"]}
    bob1.act("read", room=r, upTo=got[0]["id"])
    assert ana1.expect("read", room=r, user=bob["userId"])["upTo"] == got[0]["id"]

    # presence: a second tab of bob says nothing; closing one of two says nothing; the last says offline
    bob2 = tab(server, tabs, bob)
    ana1.quiet("presence")
    bob2.close()
    ana1.quiet("presence")
    bob1.close()
    assert ana1.expect("presence", user=bob["userId"])["status"] == "offline"
    assert ana2.expect("presence", user=bob["userId"])["status"] == "offline"
    tab(server, tabs, bob)
    assert ana1.expect("presence", user=bob["userId"])["status"] == "online"


def test_history_pages_newest_first_and_only_for_members(server, tabs):
    _, http = server
    ana, bob, cy = user(server, "ana"), user(server, "bob"), user(server, "cy")
    r = room()
    a, b = tab(server, tabs, ana), tab(server, tabs, bob)
    a.act("join", room=r)
    a.expect("joined", room=r)
    b.act("join", room=r)
    b.expect("joined", room=r)
    for n in range(7):
        a.act("sendMessage", room=r, text=f"m{n}", clientId=f"h{n}")
        a.expect("message", clientId=f"h{n}")
    first = http.get(f"/api/rooms/{r}/messages", params={"limit": 3}, headers=bearer(bob)).json()
    assert [m["text"] for m in first["messages"]] == ["m6", "m5", "m4"]
    pages, before = [], first["before"]
    while before:
        page = http.get(f"/api/rooms/{r}/messages", params={"limit": 3, "before": before}, headers=bearer(bob)).json()
        pages += [m["text"] for m in page["messages"]]
        before = page["before"]
    assert pages == ["m3", "m2", "m1", "m0"]
    assert http.get(f"/api/rooms/{r}/messages", headers=bearer(cy)).status_code == 403
    assert http.get(f"/api/rooms/{r}/messages").status_code == 401
    assert http.get(f"/api/rooms/{r}/messages", params={"limit": 0}, headers=bearer(bob)).status_code == 400

    listed = http.get("/api/conversations", headers=bearer(bob)).json()["conversations"]
    assert [(c["room"], c["unread"]) for c in listed] == [(r, 7)]
    b.act("read", room=r, upTo=first["messages"][1]["id"])  # up to m5: m6 is left
    a.expect("read", room=r)
    assert http.get("/api/conversations", headers=bearer(bob)).json()["conversations"][0]["unread"] == 1
    assert http.get("/api/conversations", headers=bearer(ana)).json()["conversations"][0]["unread"] == 0


def test_direct_messages_open_a_conversation(server, tabs):
    _, http = server
    ana, bob = user(server, "ana"), user(server, "bob")
    a, b = tab(server, tabs, ana), tab(server, tabs, bob)
    found = http.get("/api/users", params={"email": bob["email"]}, headers=bearer(ana)).json()
    assert found == {"userId": bob["userId"], "name": "Bob"}
    a.act("sendMessage", to=bob["userId"], text="psst", clientId="d1")
    frame = b.expect("message", clientId="d1")
    conversation = frame["conversation"]
    assert "room" not in frame and a.expect("message", clientId="d1")["conversation"] == conversation
    b.act("typing", conversation=conversation)
    assert a.expect("typing")["conversation"] == conversation
    listed = http.get("/api/conversations", headers=bearer(bob)).json()["conversations"]
    assert [(c["kind"], c["with"]["userId"], c["unread"]) for c in listed] == [("direct", ana["userId"], 1)]
    assert http.get(f"/api/rooms/{conversation}/messages", headers=bearer(bob)).json()["messages"][0]["text"] == "psst"
    a.act("sendMessage", to="no-such-user", text="hello?", clientId="d2")
    assert a.expect("error", clientId="d2")["code"] == "unknown-user"
    a.act("leave", conversation=conversation)
    assert a.expect("error")["code"] == "bad-request"


def test_connection_rows_expire_after_24_hours(server, tabs):
    """The seed's connection TTL: a room's listener rows carry expiresAt = connect + 24 h (DynamoDB TTL)."""
    import strato

    dev, _ = server
    ana = user(server, "ana")
    r = room()
    t = tab(server, tabs, ana)
    t.act("join", room=r)
    t.expect("joined", room=r)
    listeners = strato.App("chat", data_dir=dev.data_dir).table(
        "listeners", key="room", sort="connectionId", ttl="expiresAt"
    )
    [row] = listeners.query(r).items
    assert row["userId"] == ana["userId"] and abs(row["expiresAt"] - (time.time() + 24 * 3600)) < 120
    t.close()
    deadline = time.monotonic() + 10
    while listeners.query(r).items and time.monotonic() < deadline:  # $disconnect removes it
        time.sleep(0.05)
    assert listeners.query(r).items == []


def test_calls_invite_join_decline_and_end(server, tabs):
    _, http = server
    ana, bob, cy = user(server, "ana"), user(server, "bob"), user(server, "cy")
    r = room()
    a, b = tab(server, tabs, ana), tab(server, tabs, bob)
    for t in (a, b):
        t.act("join", room=r)
        t.expect("joined", room=r)
    started = http.post("/api/calls", json={"room": r}, headers=bearer(ana))
    assert started.status_code == 201, started.text
    call = started.json()
    meeting, attendee = call["meeting"], call["attendee"]
    assert {"MeetingId", "MediaPlacement", "MediaRegion", "ExternalMeetingId"} <= set(meeting)
    assert {"AttendeeId", "ExternalUserId", "JoinToken"} <= set(attendee)
    assert attendee["ExternalUserId"] == ana["userId"]
    invite = b.expect("call-invite")
    assert invite == {"type": "call-invite", "callId": call["callId"], "room": r, "from": ana["userId"]}
    a.quiet("call-invite")
    joined = http.post(f"/api/calls/{call['callId']}/join", headers=bearer(bob)).json()
    assert joined["meeting"]["MeetingId"] == meeting["MeetingId"]
    assert joined["attendee"]["ExternalUserId"] == bob["userId"]
    assert http.post(f"/api/calls/{call['callId']}/join", headers=bearer(cy)).status_code == 404  # not a member
    assert http.post(f"/api/calls/{call['callId']}/decline", headers=bearer(bob)).status_code == 200
    assert a.expect("call-declined")["user"] == bob["userId"]
    assert http.delete(f"/api/calls/{call['callId']}", headers=bearer(bob)).status_code == 200
    for t in (a, b):
        assert t.expect("call-ended")["callId"] == call["callId"]
    assert http.post(f"/api/calls/{call['callId']}/join", headers=bearer(ana)).status_code == 410
    assert http.post("/api/calls", json={"room": room()}, headers=bearer(ana)).status_code == 403
    assert http.post("/api/calls", json={}, headers=bearer(ana)).status_code == 400
    direct = http.post("/api/calls", json={"to": bob["userId"]}, headers=bearer(ana))
    assert direct.status_code == 201 and b.expect("call-invite")["conversation"] == direct.json()["conversation"]


def test_presence_heals_a_count_left_by_vanished_connections(server, tabs):
    """Connections that died without $disconnect (a killed server) leave the count high; the registry
    corrects it, so the user still goes online and offline."""
    import strato

    dev, _ = server
    ana, bob = user(server, "ana"), user(server, "bob")
    r = room()
    a, b = tab(server, tabs, ana), tab(server, tabs, bob)
    for t in (a, b):
        t.act("join", room=r)
        t.expect("joined", room=r)
    b.close()
    a.expect("presence", user=bob["userId"], status="offline")
    presence = strato.App("chat", data_dir=dev.data_dir).table("presence", key="userId")
    presence.put({"userId": bob["userId"], "connections": 2})  # two tabs that vanished
    b2 = tab(server, tabs, bob)
    a.expect("presence", user=bob["userId"], status="online")
    b2.close()
    a.expect("presence", user=bob["userId"], status="offline")
    assert presence.get(bob["userId"])["connections"] == 0
