"""strato dev's connections have TCP_NODELAY. uvicorn adopts the listening socket ``strato dev`` binds
(``fd=``) as a Unix socket, so the event loop never sets it; without it a response head and body
written apart wait on the client's delayed ACK, 40 ms a request on a kept-alive connection."""

from __future__ import annotations

import asyncio
import socket

import pytest

from strato.local.http_protocol import no_delay


def accepted_nodelay(fix: bool) -> int:
    """TCP_NODELAY of a connection accepted the way uvicorn accepts strato dev's (a fd taken as AF_UNIX)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            if fix:
                no_delay(transport)
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        adopted = socket.fromfd(listener.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
        server = await loop.create_server(Probe, sock=adopted)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    try:
        asyncio.run(main())
    finally:
        listener.close()
    return seen[0]


def test_connections_get_tcp_nodelay():
    assert accepted_nodelay(fix=True) != 0


def test_the_event_loop_alone_would_not_set_it():  # why no_delay exists; if this fails, it may go
    assert accepted_nodelay(fix=False) == 0


@pytest.mark.parametrize("fast", [True, False])
def test_both_protocols_set_it(fast, monkeypatch):
    import strato.local.http_protocol as module

    calls: list[object] = []
    monkeypatch.setattr(module, "no_delay", calls.append)
    if fast:
        import strato.local.httptools_protocol as fast_module

        monkeypatch.setattr(fast_module, "no_delay", calls.append)
    cls = module.bounded(1, 1, fast=fast)
    protocol = cls.__new__(cls)
    transport = object()
    try:
        protocol.connection_made(transport)  # type: ignore[arg-type]
    except Exception:  # the rest of uvicorn's setup needs a real server; the option comes first
        pass
    assert calls == [transport]
