"""Share a command's terminal through the relay:  python -m examples.relay.cli [--url URL] [--token T] -- bash

The command runs in a pseudo-terminal; its output is encrypted for every paired browser, their
keystrokes are decrypted into it, and the window size follows this terminal (or the browser's when
this one is not a terminal). A lost connection is resumed without losing a keystroke.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import logging
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import tty
from urllib.parse import urlsplit

try:
    from .share import Share
except ImportError:  # run as a script
    from share import Share  # type: ignore[no-redef]


def set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def own_size() -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(sys.stdin.fileno())
    except OSError:
        return None
    return size.columns, size.lines


def web_url(ws_url: str, given: str | None) -> str:
    if given:
        return given.rstrip("/")
    parts = urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


async def share(args: argparse.Namespace) -> int:
    main, child = pty.openpty()
    size = own_size() or (80, 24)
    set_size(main, *size)
    proc = subprocess.Popen(args.command, stdin=child, stdout=child, stderr=child, start_new_session=True)
    os.close(child)
    loop = asyncio.get_running_loop()
    interactive = sys.stdin.isatty() and sys.stdout.isatty()

    def on_session(code: str, session_id: str) -> None:
        print(f"relay: pairing code {code}  (valid 10 minutes, once)", file=sys.stderr)
        print(f"relay: open {web_url(args.url, args.web)}/?code={code}", file=sys.stderr, flush=True)

    def on_resize(cols: int, rows: int) -> None:
        if not interactive:  # no terminal of our own: the browser's size rules
            set_size(main, cols, rows)

    relay = Share(
        args.url,
        token=args.token,
        on_input=lambda data: os.write(main, data),
        on_resize=on_resize,
        on_session=on_session,
    )
    await relay.resize(*size)
    output: asyncio.Queue[bytes] = asyncio.Queue()

    def readable() -> None:
        try:
            data = os.read(main, 16384)
        except OSError:
            data = b""
        output.put_nowait(data)
        if not data:
            loop.remove_reader(main)

    loop.add_reader(main, readable)
    if interactive:
        saved = termios.tcgetattr(sys.stdin.fileno())
        tty.setraw(sys.stdin.fileno())
        loop.add_reader(sys.stdin.fileno(), lambda: os.write(main, os.read(sys.stdin.fileno(), 4096)))
        loop.add_signal_handler(signal.SIGWINCH, lambda: _winch(main, relay, loop))
    runner = asyncio.create_task(relay.run())
    refused = False
    try:
        while True:
            reading = asyncio.ensure_future(output.get())
            await asyncio.wait({reading, runner}, return_when=asyncio.FIRST_COMPLETED)
            if runner.done() and not reading.done():  # refused (401, 400) or the session was closed
                reading.cancel()
                if not runner.cancelled() and runner.exception() is not None:
                    print(f"relay: {runner.exception()}", file=sys.stderr)
                    refused = True
                proc.terminate()
                break
            data = reading.result()
            if not data:
                break
            if interactive:
                os.write(sys.stdout.fileno(), data)
            await relay.output(data)
        await relay.close()
    finally:
        if interactive:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
        runner.cancel()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(main)
    return 1 if refused else proc.returncode


def _winch(fd: int, relay: Share, loop: asyncio.AbstractEventLoop) -> None:
    size = own_size()
    if size:
        set_size(fd, *size)
        loop.create_task(relay.resize(*size))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.relay.cli", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("RELAY_URL", "ws://127.0.0.1:8000/ws/relay"))
    parser.add_argument("--token", default=os.environ.get("RELAY_TOKEN"), help="an ID token (RELAY_AUTH=1)")
    parser.add_argument("--web", help="the web client's URL (default: the relay's host)")
    parser.add_argument("command", nargs="+", help="the command to share, after --")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="relay: %(message)s")
    return asyncio.run(share(args))


if __name__ == "__main__":
    sys.exit(main())
