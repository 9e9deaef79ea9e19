"""examples/relay: guessing pairing codes (8 characters of 31) is throttled per connection and per source
address, with an error frame that says so and when to try again; viewers who pair are not counted."""

from __future__ import annotations

import pytest

from tests.conftest import start_dev_server, stop
from tests.examples.test_relay import APP, KEY, open_client, ws_base

LIMITS = {"RELAY_JOINS_PER_CONNECTION": "3", "RELAY_JOINS_PER_SOURCE": "5", "RELAY_JOIN_WINDOW": "600"}


@pytest.fixture
def base(tmp_path):
    server = start_dev_server(APP, tmp_path / "data", env=LIMITS)
    yield ws_base(server.url)
    stop(server.proc)


@pytest.fixture()
def clients():
    opened: list = []
    yield opened
    for client in opened:
        client.close()


def new_code(clients, base) -> str:
    cli = open_client(clients, base, "cli")
    cli.act("create", publicKey=KEY)
    return cli.recv()["pairingCode"]


def guess(web, code: str = "ABCDEFGH") -> dict:
    web.act("join", pairingCode=code, publicKey=KEY)
    return web.recv()


def test_pairing_code_guesses_are_throttled_per_connection_and_per_address(base, clients):
    for _ in range(6):  # more joins than either limit: a viewer who pairs gives its attempt back
        web = open_client(clients, base, "web")
        assert guess(web, new_code(clients, base))["type"] == "joined"

    first = open_client(clients, base, "web")
    assert [guess(first)["code"] for _ in range(3)] == ["invalid-pairing"] * 3
    refused = guess(first, new_code(clients, base))  # even the right code: this connection is done guessing
    assert refused["type"] == "error" and refused["code"] == "rate-limited"
    assert "connection" in refused["message"] and 1 <= refused["retryAfter"] <= 600

    second = open_client(clients, base, "web")  # same address (127.0.0.1): 3 failures counted there already
    assert [guess(second)["code"] for _ in range(2)] == ["invalid-pairing"] * 2
    limited = guess(second)
    assert limited["code"] == "rate-limited" and "address" in limited["message"]
    third = open_client(clients, base, "web")  # a new connection does not reset the address's count
    assert guess(third, new_code(clients, base))["code"] == "rate-limited"
    third.act("join", sessionId="0" * 32, publicKey=KEY)  # joins by session id (122 random bits) are not guesses
    assert third.recv()["code"] == "unknown-session"
