"""The moto server the ``aws`` provider of the test kit talks to: a real ``moto_server`` process on a free
loopback port, with fake credentials and the metadata service off, so no test can reach AWS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MotoServer:
    """``with MotoServer() as endpoint:`` a moto server for the block (``STRATO_TEST_MOTO_URL`` names one
    already running instead)."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint = os.environ.get("STRATO_TEST_MOTO_URL", "")

    def start(self) -> str:
        if self.endpoint:
            return self.endpoint
        try:
            import moto.server  # noqa: F401  (only to fail early with a clear message)
        except ImportError:
            raise RuntimeError("the aws provider of strato.testing needs moto: pip install 'moto[server]'") from None
        port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **FAKE_AWS},
        )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode} before listening")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    self.endpoint = f"http://127.0.0.1:{port}"
                    return self.endpoint
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto_server did not listen on 127.0.0.1:{port} within {self.timeout:g} s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
