"""strato's virtual clock: time stands still until the test moves it, everything strato times reads it, and
``Timekeeper.advance`` does what AWS would have done meanwhile (schedule slots, TTL sweeps, retention,
alarms). Local provider throughout; the AWS semantics asserted are cited per test."""

from __future__ import annotations

import datetime as dt
import math
import time
from urllib.parse import parse_qsl, urlsplit

import pyotp
import pytest

import strato
from strato.auth import Challenge, Tokens
from strato.bucket.local_presign import Refused
from strato.core import clock
from strato.core.clock import VirtualClock
from strato.core.errors import AuthError, InvalidToken
from strato.core.ids import new_id
from strato.local.timekeeping import Timekeeper, TooManySlots
from strato.metrics.alarm import ALARM, INSUFFICIENT
from tests.test_auth import PASSWORD, signed_up

UTC = dt.UTC
START = dt.datetime(2026, 11, 21, 20, 45, 30, tzinfo=UTC)  # a Saturday, not on a minute boundary


@pytest.fixture
def vclock():
    """A virtual clock at START installed for the test, real time again after it."""
    virtual = VirtualClock(START)
    previous = clock.install(virtual)
    yield virtual
    clock.install(previous)


@pytest.fixture
def app(make_app, vclock):
    return make_app("local")


def real_time_passes(seconds: float) -> None:
    """Let ``seconds`` of real time go by (what is asserted is that nothing happens meanwhile)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.02)


# -- the clock itself ------------------------------------------------------------------------------


def test_the_clock_stands_still_until_told(app, vclock):
    sessions = app.table("sessions", key="id", ttl="exp")
    sessions.put({"id": "s", "exp": clock.now() + 0.5})
    first = clock.now()
    real_time_passes(0.7)
    assert clock.now() == first == START.timestamp()  # two reads apart in real time are equal
    assert sessions.get("s") is not None  # and nothing expired while real time passed
    assert Timekeeper(app).advance(0).swept == 0
    assert sessions.get("s") is not None
    vclock.advance(0.5)
    assert clock.now() == first + 0.5 and sessions.get("s") is None


def test_install_returns_the_previous_clock_and_none_is_real_time():
    assert clock.installed() is None
    real = clock.now()
    assert abs(real - time.time()) < 5
    a, b = VirtualClock(100.0), VirtualClock(200.0)
    assert clock.install(a) is None and clock.installed() is a and clock.now() == 100.0
    assert strato.now() == 100.0  # the public name for handlers whose timing a test controls
    try:
        assert clock.install(b) is a and clock.now() == 200.0
    finally:
        assert clock.install(None) is b
    assert clock.installed() is None and clock.now() >= real
    with pytest.raises(TypeError, match="VirtualClock or None"):
        clock.install(time.time)  # type: ignore[arg-type]


def test_start_and_set_take_seconds_or_datetimes_and_naive_is_utc():
    assert VirtualClock(dt.datetime(2026, 1, 1)).now() == dt.datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert VirtualClock(dt.datetime(2026, 1, 1, 9, tzinfo=tokyo)).now() == VirtualClock(dt.datetime(2026, 1, 1)).now()
    default = VirtualClock()
    assert abs(default.now() - time.time()) < 5  # default start: the real time now
    frozen = VirtualClock(1000)
    frozen.set(dt.datetime(2000, 1, 1))
    assert frozen.now() == 946684800.0
    frozen.advance(1.5)
    assert frozen.now() == 946684801.5


def test_going_backwards_and_bad_amounts_are_refused_with_the_reason():
    frozen = VirtualClock(1000.0)
    with pytest.raises(ValueError, match=r"cannot go backwards.*expiries, leases and fired schedule slots"):
        frozen.set(999.0)
    with pytest.raises(ValueError, match=">= 0"):
        frozen.advance(-1)
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="finite"):
            frozen.advance(bad)
        with pytest.raises(ValueError, match="finite"):
            frozen.set(bad)
        with pytest.raises(ValueError, match="finite"):
            VirtualClock(bad)
    with pytest.raises(TypeError):
        frozen.advance(True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        frozen.set("2026-01-01")  # type: ignore[arg-type]
    assert frozen.now() == 1000.0  # nothing refused moved it


def test_timekeeper_refuses_backwards_and_needs_its_clock_installed(app, vclock):
    keeper = Timekeeper(app)
    with pytest.raises(ValueError, match="cannot go backwards"):
        keeper.set(START - dt.timedelta(seconds=1))
    with pytest.raises(ValueError):
        keeper.advance(-5)
    assert clock.now() == START.timestamp()
    elsewhere = Timekeeper(app, VirtualClock(START))
    with pytest.raises(RuntimeError, match="not the installed one"):
        elsewhere.advance(1)


def test_ids_carry_the_virtual_time():
    previous = clock.install(VirtualClock(START))
    try:
        made = new_id()
    finally:
        clock.install(previous)
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    ms = 0
    for char in made[:10]:  # ULID: the first 10 characters are the 48-bit millisecond time
        ms = ms * 32 + alphabet.index(char)
    assert ms == int(START.timestamp() * 1000)


# -- expiry through reads ----------------------------------------------------------------------------


def test_a_ttl_item_is_there_until_its_time_then_gone_and_swept(app):
    """DynamoDB TTL: an item whose TTL attribute is at or before the current time is expired; reads may
    filter it before the background deletion runs. https://docs.aws.amazon.com/amazondynamodb/latest/
    developerguide/ttl-expired-items.html"""
    sessions = app.table("sessions", key="id", ttl="exp", indexes={"by_user": "user"})
    sessions.put({"id": "s1", "user": "u", "exp": int(clock.now()) + 3600})
    sessions.put({"id": "keep", "user": "u"})
    keeper = Timekeeper(app)
    assert keeper.advance(3599).swept == 0
    assert sessions.get("s1") is not None and len(sessions.query("u", index="by_user").items) == 2
    elapsed = keeper.advance(1)
    assert sessions.get("s1") is None and [i["id"] for i in sessions.query("u", index="by_user").items] == ["keep"]
    assert elapsed.swept == 1  # deleted, not only hidden: the sweep ran at the new time
    rows = sessions.backend.store.db.conn.execute(f"SELECT count(*) FROM {sessions.backend.t}").fetchone()[0]
    assert rows == 1


def test_kv_and_cache_ttls_follow_the_clock(app):
    kv, cache = app.kv("flags"), app.cache("hot")
    kv.set("k", "v", ttl=10)
    cache.set("c", {"n": 1}, ttl=10)
    keeper = Timekeeper(app)
    keeper.advance(9.9)
    assert kv.get("k") == "v" and cache.get("c") == {"n": 1}
    keeper.advance(0.1)
    assert kv.get("k") is None and cache.get("c") is None


def test_a_delayed_message_appears_after_its_delay(app):
    """SQS message timers / delay queues: a message stays invisible for DelaySeconds after it is sent.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html"""
    jobs = app.queue("jobs")
    jobs.send({"n": 1}, delay=30)
    keeper = Timekeeper(app)
    assert jobs.receive() == []
    keeper.advance(29)
    assert jobs.receive() == [] and jobs.stats().as_dict()["delayed"] == 1
    keeper.advance(1)
    assert [m.json() for m in jobs.receive()] == [{"n": 1}]


def test_a_received_message_comes_back_after_its_visibility_timeout(app):
    """SQS visibility timeout: a received, undeleted message is hidden for the timeout, then visible again.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html"""
    jobs = app.queue("jobs", visibility_timeout=60)
    jobs.send("work")
    keeper = Timekeeper(app)
    (first,) = jobs.receive()
    real_time_passes(0.2)
    keeper.advance(59)
    assert jobs.receive() == []
    keeper.advance(1)
    (again,) = jobs.receive()
    assert again.id == first.id and again.receive_count == 2


def test_messages_past_retention_are_deleted(app):
    """SQS deletes a message that stays in the queue longer than MessageRetentionPeriod (60 s at least).
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html"""
    jobs = app.queue("jobs", retention=60)
    jobs.send("old")
    keeper = Timekeeper(app)
    keeper.advance(30)
    jobs.send("young")
    elapsed = keeper.advance(30)
    assert elapsed.swept == 1
    assert [m.body for m in jobs.receive(10)] == ["young"]


def test_a_presigned_url_is_valid_until_it_expires(app):
    """S3 presigned URLs: valid for X-Amz-Expires seconds from X-Amz-Date, then 403 "Request has expired".
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html"""
    files = app.bucket("files")
    files.put("a.txt", b"hi")
    url = files.presign_get("a.txt", expires_in=60)
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    assert dict(query)["X-Amz-Date"] == START.strftime("%Y%m%dT%H%M%SZ")  # signed at the virtual time
    headers = {"host": parts.netloc}
    keeper = Timekeeper(app)
    keeper.advance(60)
    files.backend.verify("GET", "a.txt", query, headers)  # the last second of its life
    keeper.advance(1)
    with pytest.raises(Refused, match="expired"):
        files.backend.verify("GET", "a.txt", query, headers)


def test_tokens_expire_on_the_virtual_clock(app):
    """Cognito access and ID tokens are valid for an hour by default; a verifier refuses one past ``exp``.
    https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html"""
    pool = app.user_pool("users")
    tokens = signed_up(pool)
    claims = pool.verify(tokens.access_token)
    assert claims["iat"] == int(START.timestamp()) and claims["exp"] == claims["iat"] + 3600
    keeper = Timekeeper(app)
    keeper.advance(3599)
    assert pool.verify(tokens.id_token, token_use="id")["sub"] == claims["sub"]
    keeper.advance(1)
    for token in (tokens.access_token, tokens.id_token):
        with pytest.raises(InvalidToken, match="token has expired"):
            pool.verify(token)


def test_a_token_issued_in_a_virtual_future_verifies_there(make_app):
    """PyJWT compares iat and exp with the real time; strato compares them with its clock, so a clock set a
    day ahead neither refuses its own fresh tokens ("issued in the future") nor accepts them after exp."""
    ahead = VirtualClock(time.time() + 86_400)
    previous = clock.install(ahead)
    try:
        pool = make_app("local").user_pool("users")
        tokens = signed_up(pool)
        assert pool.verify(tokens.access_token)["username"] == "alice"
    finally:
        clock.install(previous)
    with pytest.raises(InvalidToken, match="issued in the future"):
        pool.verify(tokens.access_token)  # on real time again it is a day early


def test_a_totp_code_belongs_to_its_30_second_step(make_app, vclock):
    """TOTP (RFC 6238, as Cognito's authenticator-app MFA uses it): a code is for one 30-second step; the
    verifier allows one step either side and never the same code twice.
    https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-totp.html"""
    vclock.set(dt.datetime(2026, 11, 21, 20, 46, 0))  # the start of a step
    app = make_app("local")
    pool = app.user_pool("secure")
    tokens = signed_up(pool, "bob")
    totp = pyotp.TOTP(pool.setup_totp(tokens.access_token))
    pool.confirm_totp(tokens.access_token, totp.at(clock.now()))
    keeper = Timekeeper(app)
    keeper.advance(31)  # the next step: its code signs in
    challenge = pool.sign_in("bob", PASSWORD)
    assert isinstance(challenge, Challenge)
    assert isinstance(pool.respond(challenge, code=totp.at(clock.now())), Tokens)
    keeper.advance(60)  # two steps on, the code of the step that signed in is too old
    late = pool.sign_in("bob", PASSWORD)
    with pytest.raises(AuthError) as refused:
        pool.respond(late, code=totp.at(clock.now() - 60))
    assert refused.value.code == "CodeMismatchException"


def test_a_lockout_ends_when_the_clock_says(app):
    """Cognito locks a user out after five failed sign-ins for 1 s, doubling with each further failure.
    https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow-things-to-know.html"""
    pool = app.user_pool("users")
    signed_up(pool)
    for _ in range(5):
        with pytest.raises(AuthError):
            pool.sign_in("alice", "Wr0ng-password!")
    real_time_passes(1.2)  # longer than the lock in real time: still locked
    with pytest.raises(AuthError, match="Password attempts exceeded"):
        pool.sign_in("alice", PASSWORD)
    Timekeeper(app).advance(1.01)
    assert isinstance(pool.sign_in("alice", PASSWORD), Tokens)


# -- what the Timekeeper does meanwhile -----------------------------------------------------------------


def test_a_rate_schedule_fires_once_per_slot_at_the_slot_time(app):
    """EventBridge Scheduler: a rate schedule without a start date starts at once and invokes its target
    every period; the event's ``time`` is the scheduled time.
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#rate-based"""
    seen: list[tuple[str, float]] = []
    app.schedule("rate(5 minutes)", name="tick")(lambda event: seen.append((event["time"], clock.now())))
    keeper = Timekeeper(app)
    assert keeper.advance(15 * 60).fired == 3
    slots = [START + dt.timedelta(minutes=5 * n) for n in (1, 2, 3)]
    assert seen == [(s.strftime("%Y-%m-%dT%H:%M:%SZ"), s.timestamp()) for s in slots]  # clock at each slot
    assert keeper.advance(299).fired == 0
    assert keeper.advance(1).fired == 1 and len(seen) == 4


def test_a_cron_schedule_fires_on_its_slots_and_schedules_interleave(app):
    """cron(0 */6 * * ? *) is 00:00, 06:00, 12:00 and 18:00 UTC each day (EventBridge cron expressions).
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based"""
    order: list[str] = []
    app.schedule("cron(0 */6 * * ? *)", name="quarter")(lambda: order.append(f"quarter {_hhmm()}"))
    app.schedule("rate(4 hours)", name="every4")(lambda: order.append(f"every4 {_hhmm()}"))
    elapsed = Timekeeper(app).set(dt.datetime(2026, 11, 22, 12, 0))
    assert order == ["quarter 00:00", "every4 00:45", "every4 04:45", "quarter 06:00", "every4 08:45", "quarter 12:00"]
    assert elapsed.fired == 6 and clock.now() == dt.datetime(2026, 11, 22, 12, 0, tzinfo=UTC).timestamp()


def _hhmm() -> str:
    return dt.datetime.fromtimestamp(clock.now(), UTC).strftime("%H:%M")


def test_a_failing_slot_raises_after_its_claim_and_the_next_advance_goes_on(app):
    runs: list[str] = []

    def flaky() -> None:
        runs.append(_hhmm())
        if len(runs) == 2:
            raise RuntimeError("boom")

    app.schedule("rate(1 hour)", name="hourly")(flaky)
    keeper = Timekeeper(app)
    with pytest.raises(RuntimeError, match="boom"):
        keeper.advance(3 * 3600)
    assert runs == ["21:45", "22:45"] and _hhmm() == "22:45"  # stopped at the failing slot
    assert keeper.advance(2 * 3600).fired == 2  # 23:45 and 00:45: the failed slot is not fired again
    assert runs == ["21:45", "22:45", "23:45", "00:45"]


def test_a_runaway_advance_is_refused_before_anything_moves(app):
    fired: list[int] = []
    app.schedule("rate(1 minute)", name="tick")(lambda: fired.append(1))
    keeper = Timekeeper(app)
    with pytest.raises(TooManySlots, match=r"more than 10,000 schedule slots \(rate\(1 minute\) 'tick' alone: 525,600"):
        keeper.advance(365 * 86_400)
    assert fired == [] and clock.now() == START.timestamp()
    assert keeper.advance(3 * 3600, max_slots=200).fired == 180  # a raised cap fires every slot


def test_an_alarm_changes_state_when_time_completes_its_periods(app):
    """CloudWatch evaluates an alarm on complete periods: a breaching datapoint turns it ALARM once its
    period has ended. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html"""
    metrics = app.metrics("Api")
    metrics.alarm(
        "slow", metric="Latency", statistic="Maximum", period=60, threshold=500, comparison=">", evaluation_periods=1
    )
    keeper = Timekeeper(app)
    keeper.advance(30)  # 20:46:00: a period starts
    metrics.put("Latency", 900, unit="Milliseconds")
    assert metrics.alarm_state("slow") == INSUFFICIENT
    assert keeper.advance(59).alarms == []  # the period is not complete yet
    elapsed = keeper.advance(1)
    assert elapsed.alarms == [("Api", "slow", INSUFFICIENT, ALARM)] and metrics.alarm_state("slow") == ALARM


def test_a_ttl_removal_reaches_stream_handlers_after_advance(app):
    """DynamoDB Streams show TTL deletions as REMOVE records by the service principal
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html, userIdentity); the
    worker's threads read the same process-wide virtual clock as the test."""
    from tests.test_streams import _collecting, running, wait_until

    sessions = app.table("sessions", key="id", ttl="exp")
    seen = _collecting(sessions)
    with running(app):
        sessions.put({"id": "s1", "exp": clock.now() + 3600})
        assert wait_until(lambda: len(seen) == 1)  # the INSERT
        real_time_passes(1.5)  # the tailer sweeps TTL every second: on virtual time, nothing is due
        assert len(seen) == 1
        Timekeeper(app).advance(3600)
        assert wait_until(lambda: len(seen) == 2)
    assert seen[1].event == "REMOVE" and seen[1].by_ttl and seen[1].old["id"] == "s1"


def test_waits_run_on_real_time_under_a_frozen_clock(app):
    """A long poll's deadline is monotonic: under a clock that never moves it still ends."""
    jobs = app.queue("jobs")
    started = time.monotonic()
    assert jobs.receive(wait=0.3) == []
    assert 0.25 <= time.monotonic() - started < 10
    jobs.send("soon", delay=5)
    keeper = Timekeeper(app)
    keeper.advance(5)
    assert [m.body for m in jobs.receive(wait=1)] == ["soon"]


def test_ids_made_while_the_clock_stands_still_keep_their_order():
    previous = clock.install(VirtualClock(START))
    try:
        made = [new_id() for _ in range(500)]
    finally:
        clock.install(previous)
    assert made == sorted(made) and len(set(made)) == 500
    real = [new_id() for _ in range(500)]  # many in the same millisecond of real time
    assert real == sorted(real)
