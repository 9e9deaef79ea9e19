"""The local user pool limits guessing as Cognito does: escalating lockout after failed sign-ins, TOTP
codes used once and challenge sessions that die after 3 wrong codes, attempt-limited confirmation
codes, sign-in timing and answers that do not tell which users exist. Time is a fake clock."""

from __future__ import annotations

import statistics
import time

import pyotp
import pytest

from strato.auth import Challenge, Tokens
from strato.auth.cognito import client_properties
from strato.core.errors import AuthError
from tests.test_auth import PASSWORD, signed_up

WRONG = "Wr0ng-password!"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app(make_app):
    return make_app("local")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def pool(app, clock):
    pool = app.user_pool("users")
    pool.backend.now = clock
    return pool


def refused(pool, username: str, password: str) -> tuple[str, str]:
    with pytest.raises(AuthError) as caught:
        pool.sign_in(username, password)
    return caught.value.code, caught.value.message


LOCKED = ("NotAuthorizedException", "Password attempts exceeded")
INCORRECT = ("NotAuthorizedException", "Incorrect username or password.")


def test_failed_sign_ins_lock_the_user_out_for_a_doubling_time(pool, clock):
    """Cognito: after 5 failed sign-ins a 1 s lock, doubling with each further failure (2^(n-5) s) up to
    about 15 minutes; attempts while locked are "Password attempts exceeded" and do not count; a success
    after the lock starts again from 0.
    https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow-things-to-know.html
    (Lockout behavior for failed sign-in attempts)"""
    signed_up(pool)
    for _ in range(5):
        assert refused(pool, "alice", WRONG) == INCORRECT
    assert refused(pool, "alice", PASSWORD) == LOCKED  # even the right password, while locked
    clock.now += 1.01
    assert refused(pool, "alice", WRONG) == INCORRECT  # 6th failure: locked for 2 s
    clock.now += 1.5
    assert refused(pool, "alice", PASSWORD) == LOCKED
    assert refused(pool, "alice", WRONG) == LOCKED  # does not count: still 2 s from the 6th failure
    clock.now += 0.6
    assert isinstance(pool.sign_in("alice", PASSWORD), Tokens)
    for _ in range(5):  # the success started the count again
        assert refused(pool, "alice", WRONG) == INCORRECT
    for _ in range(20):  # however many failures, the lock stops growing at about 15 minutes
        clock.now += 16 * 60 - 1
        refused(pool, "alice", WRONG)
    clock.now += 15 * 60 + 1
    assert isinstance(pool.sign_in("alice", PASSWORD), Tokens)


def test_four_hundred_wrong_passwords_do_not_lead_to_a_sign_in(pool, clock):
    signed_up(pool)
    outcomes = set()
    for _ in range(400):  # 4 seconds of guessing: 7 counted, the rest refused by the lock
        outcomes.add(refused(pool, "alice", WRONG))
        clock.now += 0.01
    assert outcomes == {INCORRECT, LOCKED}
    assert refused(pool, "alice", PASSWORD) == LOCKED


def test_unknown_users_are_locked_out_alike(pool, clock):
    for _ in range(5):
        assert refused(pool, "nobody", WRONG) == INCORRECT
    assert refused(pool, "nobody", WRONG) == LOCKED  # the lockout does not tell who exists


def _mfa_user(app, clock):
    pool = app.user_pool("secure")
    pool.backend.now = clock
    tokens = signed_up(pool, "bob")
    secret = pool.setup_totp(tokens.access_token)
    pool.confirm_totp(tokens.access_token, pyotp.TOTP(secret).at(clock.now))
    return pool, pyotp.TOTP(secret)


def test_a_totp_code_signs_in_once(app, clock):
    """A TOTP code signs in once per user: a second session cannot answer with the code that signed in the
    first (TOTP MFA in Cognito: https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-totp.html;
    RFC 6238 section 5.2: a verifier must not accept the second attempt of the same OTP)."""
    pool, totp = _mfa_user(app, clock)
    first, second = pool.sign_in("bob", PASSWORD), pool.sign_in("bob", PASSWORD)
    assert isinstance(first, Challenge) and isinstance(second, Challenge)
    code = totp.at(clock.now)
    assert isinstance(pool.respond(first, code=code), Tokens)
    with pytest.raises(AuthError) as reused:
        pool.respond(second, code=code)
    assert reused.value.code == "CodeMismatchException"
    with pytest.raises(AuthError) as earlier:
        pool.respond(second, code=totp.at(clock.now - 30))  # the previous step's code is older still
    assert earlier.value.code == "CodeMismatchException"
    third = pool.sign_in("bob", PASSWORD)
    clock.now += 30
    assert isinstance(pool.respond(third, code=totp.at(clock.now)), Tokens)  # the next step's code works


def test_a_challenge_session_dies_after_three_wrong_codes(app, clock):
    """A challenge session survives about 3 wrong answers, then is invalid (NotAuthorizedException
    "Invalid session for the user."): the figure of the hardening issue for Cognito's sessions; see
    https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-authentication-flow.html"""
    pool, totp = _mfa_user(app, clock)
    right = totp.at(clock.now)
    wrong = "000000" if right != "000000" else "111111"
    challenge = pool.sign_in("bob", PASSWORD)
    for _ in range(2):
        with pytest.raises(AuthError, match="Invalid code"):
            pool.respond(challenge, code=wrong)
    assert isinstance(pool.respond(challenge, code=right), Tokens)  # 2 wrong, then right: fine
    clock.now += 30
    challenge = pool.sign_in("bob", PASSWORD)
    for _ in range(3):
        with pytest.raises(AuthError, match="Invalid code"):
            pool.respond(challenge, code=wrong)
    with pytest.raises(AuthError, match="Invalid session") as dead:
        pool.respond(challenge, code=totp.at(clock.now))
    assert dead.value.code == "NotAuthorizedException"


def test_confirmation_codes_are_attempt_limited(pool):
    """Cognito: a wrong code is CodeMismatchException; after repeated wrong codes LimitExceededException,
    and a new code (ResendConfirmationCode) starts again.
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ConfirmSignUp.html"""
    pool.sign_up("alice", PASSWORD, {"email": "alice@example.com"})
    code = pool.outbox()[-1]["message"].rsplit(" ", 1)[1]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(AuthError) as mismatch:
            pool.confirm_sign_up("alice", wrong)
        assert mismatch.value.code == "CodeMismatchException"
    with pytest.raises(AuthError) as limit:
        pool.confirm_sign_up("alice", code)  # the code was withdrawn with the 5th wrong one
    assert limit.value.code == "LimitExceededException"
    pool.resend_code("alice")
    pool.confirm_sign_up("alice", pool.outbox()[-1]["message"].rsplit(" ", 1)[1])
    assert isinstance(pool.sign_in("alice", PASSWORD), Tokens)


def test_sign_in_costs_the_same_for_unknown_and_known_users(pool, clock):
    signed_up(pool)

    def cost(username: str) -> float:
        """CPU time of the signing-in thread: the work done (a real or a dummy scrypt), which other
        processes busy on the machine do not change as they change wall time."""
        clock.now += 3600  # no lockout in the way: each try is the first in an hour
        started = time.thread_time()
        with pytest.raises(AuthError):
            pool.sign_in(username, WRONG)
        return time.thread_time() - started

    samples: dict[str, list[float]] = {"alice": [], "nobody": []}
    for _ in range(20):  # interleaved, so a slow stretch hits both alike
        for username, times in samples.items():
            times.append(cost(username))
    known, unknown = statistics.median(samples["alice"]), statistics.median(samples["nobody"])
    assert known > 0.005, known  # the scrypt ran on this thread: what is compared is its work
    assert 0.5 <= unknown / known <= 2, (known, unknown)


def _answers(pool, username: str) -> tuple:
    out: list = []
    for call in (
        lambda: pool.resend_code(username),
        lambda: pool.confirm_sign_up(username, "123456"),
        lambda: pool.sign_in(username, WRONG),
    ):
        try:
            result = call()
            out.append(("ok", sorted(result)))
        except AuthError as exc:
            out.append((exc.code, exc.message))
    return tuple(out)


def test_unknown_users_get_the_answers_real_ones_do(pool):
    """PreventUserExistenceErrors ENABLED (the default here, and for new clients in Cognito's console):
    resending a code answers with a code 'sent' to a simulated destination, confirming answers
    CodeMismatchException, sign-in 'Incorrect username or password.'
    https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-managing-errors.html"""
    pool.sign_up("alice", PASSWORD, {"email": "alice@example.com"})
    assert _answers(pool, "nobody") == _answers(pool, "alice")
    delivery = pool.resend_code("nobody@example.org")
    assert delivery["DeliveryMedium"] == "EMAIL" and delivery["Destination"] == "n***@example.org"
    assert not [m for m in pool.outbox() if m["username"].startswith("nobody")]  # nothing was sent
    assert client_properties(pool)["PreventUserExistenceErrors"] == "ENABLED"


def test_legacy_existence_errors_say_user_not_found(app):
    pool = app.user_pool("legacy", prevent_user_existence_errors=False)
    assert client_properties(pool)["PreventUserExistenceErrors"] == "LEGACY"
    for call in (
        lambda: pool.resend_code("nobody"),
        lambda: pool.confirm_sign_up("nobody", "123456"),
        lambda: pool.sign_in("nobody", WRONG),
    ):
        with pytest.raises(AuthError) as caught:
            call()
        assert caught.value.code == "UserNotFoundException"


def test_parallel_guesses_are_counted_before_the_password_is_checked(pool, clock):
    """Twenty guesses at once: 5 are answered, the rest meet the lock (none slips past the count while
    the others are still hashing)."""
    import threading

    signed_up(pool)
    barrier = threading.Barrier(20)
    answers: list = []

    def guess() -> None:
        barrier.wait(timeout=30)
        with pytest.raises(AuthError) as caught:
            pool.sign_in("alice", WRONG)
        answers.append((caught.value.code, caught.value.message))

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(answers).count(INCORRECT) == 5 and answers.count(LOCKED) == 15, answers
