"""examples/bot's Bot API client on the wire: a raw HTTP/1.1 server answers with content-length or chunked
bodies and closes kept-alive connections, as servers in front of api.telegram.org may."""

from __future__ import annotations

import json
import socket
import struct
import threading

import pytest
from examples.bot.botapi import BotAPI, BotApiError


class RawServer:
    """Answers each request with the next of ``answers`` (bytes after the head), closing the
    connection after every answer when ``close_after`` (a keep-alive the server gave up)."""

    def __init__(self, answers: list[bytes], close_after: bool = False, reset: bool = False) -> None:
        self.answers, self.close_after, self.requests = list(answers), close_after, []
        self.reset = reset  # close with SO_LINGER 0: the client's next use of the connection meets a RST
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.answers:
            conn, _ = self.sock.accept()
            with conn, conn.makefile("rb") as reader:
                while self.answers:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = reader.readline()
                        if not line:
                            break
                        head += line
                    if not head:
                        break
                    length = int(
                        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
                    )
                    self.requests.append((head, json.loads(reader.read(length))))
                    conn.sendall(self.answers.pop(0))
                    if self.close_after:
                        if self.reset:
                            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        break

    def close(self) -> None:
        self.sock.close()


def ok(result: object, chunked: bool = False) -> bytes:
    body = json.dumps({"ok": True, "result": result}).encode()
    if chunked:
        return (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            + b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7]) for i in range(0, len(body), 7))
            + b"0\r\n\r\n"
        )
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


@pytest.fixture
def server(request):
    srv = RawServer(*request.param)
    yield srv
    srv.close()


@pytest.mark.parametrize("server", [([ok(1), ok(2, chunked=True), ok(3)],)], indirect=True)
def test_content_length_and_chunked_answers_on_one_connection(server):
    api = BotAPI("1:t", server.url)
    assert [api.send_message(7, f"m{i}") for i in range(3)] == [1, 2, 3]
    heads = [head for head, _ in server.requests]
    assert all(h.startswith(b"POST /bot1:t/sendMessage HTTP/1.1\r\n") for h in heads)
    assert all(f"Host: {server.url[7:]}".encode() in h for h in heads)
    assert [payload for _, payload in server.requests] == [{"chat_id": 7, "text": f"m{i}"} for i in range(3)]


@pytest.mark.parametrize("server", [([ok(1), ok(2)], True), ([ok(1), ok(2)], True, True)], indirect=True)
def test_a_connection_the_server_closed_is_reopened(server):
    """Closed by the server after its answer, quietly (FIN) or by a reset (RST, as a loaded server or a
    proxy may): the next call sends again on a new connection, once."""
    api = BotAPI("1:t", server.url)
    assert api.call("sendMessage", {"chat_id": 1, "text": "a"}, attempts=1) == 1
    assert api.call("sendMessage", {"chat_id": 1, "text": "b"}, attempts=1) == 2  # one try: no retry needed
    assert len(server.requests) == 2


SLOW_DOWN = b'{"ok":false,"error_code":429,"description":"slow","parameters":{"retry_after":3}}'
TOO_MANY = b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: %d\r\n\r\n%s" % (len(SLOW_DOWN), SLOW_DOWN)


@pytest.mark.parametrize("server", [([TOO_MANY, b"garbage\r\n\r\n"],)], indirect=True)
def test_errors_are_typed(server):
    api = BotAPI("1:t", server.url)
    with pytest.raises(BotApiError) as info:
        api.call("sendMessage", {"chat_id": 1, "text": "a"}, attempts=1)
    assert (info.value.status, info.value.retryable, info.value.retry_after) == (429, True, 3.0)
    with pytest.raises(BotApiError) as info:  # not HTTP at all: a network-level error, retryable
        api.call("sendMessage", {"chat_id": 1, "text": "b"}, attempts=1)
    assert (info.value.status, info.value.retryable) == (None, True)
