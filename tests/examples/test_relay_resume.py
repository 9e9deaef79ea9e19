"""The CLI's resume after a lost connection, driven step by step (no timing luck involved).

A viewer that joins while the CLI is away numbers its frames from 0, like every viewer: the CLI's
resume must replay them even when another viewer's frames were delivered before the loss.
"""

from __future__ import annotations

import asyncio

from examples.relay.share import Share
from examples.relay.viewer import Viewer

from tests.conftest import start_dev_server, stop

APP = "examples/relay/app.py"


async def wait_for(condition, timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_a_viewer_that_joined_while_the_cli_was_away_is_resumed_from_its_first_frame(tmp_path):
    server = start_dev_server(APP, tmp_path / "data")
    url = server.url.replace("http", "ws") + "/ws/relay"
    typed: list[bytes] = []
    codes: list[str] = []

    async def scenario() -> None:
        share = Share(url, on_input=typed.append, on_session=lambda code, _id: codes.append(code))
        runner = asyncio.create_task(share.run())
        await wait_for(lambda: codes)
        first = await asyncio.to_thread(Viewer, url)
        joined = await asyncio.to_thread(first.join, code=codes[0])
        await wait_for(lambda: share.channels)
        await asyncio.to_thread(first.type, b"from-first")
        await wait_for(lambda: typed == [b"from-first"])
        runner.cancel()  # the CLI loses its connection; the first viewer is still there
        await asyncio.gather(runner, return_exceptions=True)
        second = await asyncio.to_thread(Viewer, url)
        assert (await asyncio.to_thread(second.join, session_id=joined["sessionId"]))["type"] == "joined"
        for n in range(3):  # seq 0, 1, 2 of the second viewer: stored while the CLI is away
            await asyncio.to_thread(second.type, b"from-second-%d" % n)
        runner = asyncio.create_task(share.run())  # reconnect and resume
        try:
            await wait_for(lambda: len(typed) == 4)
            await asyncio.sleep(0.2)  # nothing more (no duplicate of the first viewer's frame)
            assert typed == [b"from-first", b"from-second-0", b"from-second-1", b"from-second-2"]
        finally:
            share.closed.set()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            first.close()
            second.close()

    try:
        asyncio.run(scenario())
    finally:
        stop(server.proc)
