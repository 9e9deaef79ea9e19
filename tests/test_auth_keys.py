"""The local pool's signing keys under concurrency: one key per fresh pool however many first sign-ins
race for it (threads, and processes sharing the data directory), and a token signed with a key another
process just made verifies at once, not after the 5-second key cache expires."""

from __future__ import annotations

import threading
import time

import jwt

from strato.auth.local import LocalAuthStore
from tests.test_auth import PASSWORD, signed_up


def _race(workers: int, work) -> list:
    barrier = threading.Barrier(workers)
    results: list = []
    errors: list = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results.append(work(i))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_concurrent_first_signatures_on_fresh_stores_make_one_key(tmp_path):
    for attempt in range(5):
        data = tmp_path / f"fresh{attempt}"
        stores = [LocalAuthStore(data), LocalAuthStore(data)]  # two "processes" on one data directory
        try:
            tokens = _race(8, lambda i, stores=stores: stores[i % 2].keys.sign({"sub": str(i)}))
            kids = {jwt.get_unverified_header(t)["kid"] for t in tokens}
            rows = stores[0].db.conn.execute("SELECT COUNT(*) FROM auth_keys").fetchone()[0]
            assert (rows, len(kids)) == (1, 1), (attempt, rows, kids)
        finally:
            for store in stores:
                store.close()


def test_concurrent_first_sign_ins_on_a_fresh_pool_verify_at_once(make_app):
    pool = make_app("local").user_pool("users")
    names = [f"user{i}" for i in range(6)]
    for name in names:
        pool.sign_up(name, PASSWORD, {"email": f"{name}@example.com"})
        pool.confirm_sign_up(name, pool.outbox()[-1]["message"].rsplit(" ", 1)[1])
    assert pool.backend.store.db.conn.execute("SELECT COUNT(*) FROM auth_keys").fetchone()[0] == 0

    def sign_in_and_verify(i: int) -> str:
        tokens = pool.sign_in(names[i], PASSWORD)
        return pool.verify(tokens.access_token)["username"]

    assert sorted(_race(len(names), sign_in_and_verify)) == names
    assert len(pool.jwks()["keys"]) == 1


def test_a_key_made_by_another_process_verifies_without_waiting_for_the_cache(tmp_path, make_app):
    pool = make_app("local").user_pool("users")
    tokens = signed_up(pool)
    ring = pool.backend.store.keys
    assert pool.verify(tokens.access_token)  # the cache now holds the first key, for 5 seconds
    other = LocalAuthStore(pool.config.data_dir)  # another process (say strato dev) on the same data
    try:
        new_kid = other.keys.rotate()
        claims = {**pool.verify(tokens.access_token), "iat": int(time.time())}
        token = other.keys.sign(claims)
        assert jwt.get_unverified_header(token)["kid"] == new_kid
        assert ring.public_key(new_kid) is not None
        assert pool.verify(token)["username"] == "alice"
    finally:
        other.close()
