"""The integration timeout under the dev server's event loop (one FIFO and one timer for all requests in
flight): a handler over its timeout gets the gateway's 503 while others finish normally, whatever the
order they finish in; a sync handler's 503 does not wait for its thread; a cancellation from elsewhere
is not turned into a 503; request ids stay unique."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from strato.events import LocalContext
from strato.local.handler_threads import HandlerThreads
from tests.conftest import gateway_event


def event(path: str) -> dict:
    return gateway_event("GET", path, [("host", "127.0.0.1")])


@pytest.fixture
def api(make_app):
    app = make_app()
    api = app.http(timeout=0.3)
    release = threading.Event()

    @api.get("/nap/{seconds}")
    async def nap(req, seconds):
        await asyncio.sleep(float(seconds))
        return {"slept": seconds}

    finished = threading.Event()

    @api.get("/blocked")
    def blocked(req):
        release.wait(10)
        finished.set()
        return {"released": True}

    @api.get("/ids")
    async def ids(req):
        await asyncio.sleep(0)
        return {"event": req.request_id, "context": req.context.aws_request_id}

    app.release, app.finished = release, finished
    return app


def dispatch(app, threads: HandlerThreads, path: str):
    return app.http_dispatcher.handle_async(event(path), LocalContext("t", 0.3), threads.run)


def test_late_handlers_get_503_and_the_others_their_answer_in_any_order(api):
    threads = HandlerThreads(4)

    async def main():
        paths = ["/nap/1", "/nap/0.05", "/nap/0", "/nap/2", "/nap/0.1", "/nap/0.6"]
        return await asyncio.gather(*(dispatch(api, threads, p) for p in paths))

    results = asyncio.run(main())
    assert [r["statusCode"] for r in results] == [503, 200, 200, 503, 200, 503]
    late = results[0]
    assert late["body"] == '{"message":"Service Unavailable"}'
    assert "0.3 s integration timeout" in late["headers"]["x-strato-error"]
    threads.close()


def test_a_sync_handler_gets_its_503_while_its_thread_still_runs(api):
    threads = HandlerThreads(2)

    async def main():
        return await dispatch(api, threads, "/blocked")

    result = asyncio.run(main())
    assert result["statusCode"] == 503 and not api.finished.is_set()  # the handler is still blocked
    api.release.set()
    threads.close()


def test_deadlines_keep_working_on_a_second_loop_and_after_idle(api):
    threads = HandlerThreads(2)
    for _ in range(2):  # a new loop each time: the dispatcher's deadlines follow the running loop
        assert asyncio.run(dispatch(api, threads, "/nap/0.6"))["statusCode"] == 503
        assert asyncio.run(dispatch(api, threads, "/nap/0"))["statusCode"] == 200
    threads.close()


def test_a_cancellation_from_elsewhere_propagates(api):
    threads = HandlerThreads(2)

    async def main():
        task = asyncio.ensure_future(dispatch(api, threads, "/nap/5"))
        await asyncio.sleep(0.05)
        task.cancel()  # the client went away, the server is stopping
        with pytest.raises(asyncio.CancelledError):
            await task
        # and the deadline it left behind cancels nothing later
        assert (await dispatch(api, threads, "/nap/0.4"))["statusCode"] == 503
        assert (await dispatch(api, threads, "/nap/0"))["statusCode"] == 200

    asyncio.run(main())
    threads.close()


def test_request_ids_are_unique(api):
    threads = HandlerThreads(2)

    async def main():
        return await asyncio.gather(*(dispatch(api, threads, "/ids") for _ in range(500)))

    seen = [json.loads(r["body"]) for r in asyncio.run(main())]
    assert len({s["event"] for s in seen}) == 500 and len({s["context"] for s in seen}) == 500
    context = LocalContext("t")
    assert context.aws_request_id == context.aws_request_id  # one id per invocation, however often read
    threads.close()
