"""Presigned URLs of the local bucket: unforgeable (SigV4's query shape over an unambiguous canonical
request), refused with S3's answers, and Range read as S3 reads it.

S3's presigned URLs: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
(X-Amz-Algorithm, -Credential, -Date, -Expires at most 604800 s, -SignedHeaders, -Signature).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import strato
from strato.bucket import local_presign
from strato.bucket.local_presign import Refused
from tests.test_bucket_local import served  # noqa: F401 - the fixture

FORGED_EXPIRY = "9999999999"  # 2286


def _query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def _with_query(url: str, query: list[tuple[str, str]], path: str | None = None) -> str:
    parts = urlsplit(url)
    encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    return f"{parts.scheme}://{parts.netloc}{path or parts.path}?{encoded}"


def test_a_key_holding_a_newline_cannot_forge_another_keys_url(served):  # noqa: F811
    """An app that signs a key a user chose (``secret.txt\\n9999999999``) must not hand out a URL for
    ``secret.txt``. Under the old "\\n"-joined signature the tail of the key became the expiry: this
    rebuilds that forgery (GET and PUT) and the same move on the SigV4 query, all refused."""
    bucket, _ = served
    bucket.put("secret.txt", b"top secret")
    chosen = f"secret.txt\n{FORGED_EXPIRY}"
    for method in ("GET", "PUT"):
        url = bucket.presign_get(chosen) if method == "GET" else bucket.presign_put(chosen)
        query = dict(_query(url))
        target = urlsplit(url).path.rsplit("/", 1)[0] + "/secret.txt"
        forgeries = [_with_query(url, _query(url), target)]
        if method == "GET":  # the old signer joined method, bucket, key, expires, content type, upload, part
            old_style = [
                ("X-Strato-Expires", FORGED_EXPIRY),
                ("X-Strato-Content-Type", query.get("X-Strato-Expires", "") + "\n"),
                ("X-Strato-Signature", query.get("X-Strato-Signature", "")),
            ]
            forgeries.append(_with_query(url, old_style, target))
        for forged in forgeries:
            response = httpx.request(method, forged, content=b"pwned" if method == "PUT" else None)
            assert response.status_code == 403, (method, forged, response.text)
            assert "<Error><Code>" in response.text
    assert bucket.get("secret.txt") == b"top secret"


def test_a_signature_that_is_not_hex_is_403_signature_does_not_match(served):  # noqa: F811
    bucket, _ = served
    bucket.put("a.txt", b"a")
    url = bucket.presign_get("a.txt")
    name = next(k for k, _ in _query(url) if k.endswith("Signature"))
    for bad in ("é" * 64, "Z" * 64, "", "ab"):
        forged = _with_query(url, [(k, bad if k == name else v) for k, v in _query(url)])
        response = httpx.get(forged)
        assert response.status_code == 403, (bad, response.text)
        assert "<Code>SignatureDoesNotMatch</Code>" in response.text


def test_a_method_the_url_was_not_signed_for_is_s3s_403(served):  # noqa: F811
    """S3 answers a presigned URL used with another method with 403 SignatureDoesNotMatch (XML), not
    405; a GET URL may be HEADed (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html)."""
    bucket, _ = served
    bucket.put("doc.txt", b"hello")
    get_url = bucket.presign_get("doc.txt")
    put_url = bucket.presign_put("doc.txt", content_type="text/plain")
    for url, methods in ((get_url, ("DELETE", "POST", "PATCH", "PUT")), (put_url, ("DELETE", "POST", "GET", "HEAD"))):
        for method in methods:
            response = httpx.request(method, url, headers={"content-type": "text/plain"})
            assert response.status_code == 403, (method, response.status_code, response.text)
            if method != "HEAD":  # a HEAD answer has no body
                assert response.headers["content-type"] == "application/xml"
                assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    head = httpx.head(get_url)
    assert head.status_code == 200 and head.headers["content-length"] == "5" and head.content == b""
    assert head.headers["etag"] == bucket.head("doc.txt").etag
    assert bucket.get("doc.txt") == b"hello"


def test_expiry_over_seven_days_and_dates_in_the_future_are_refused(served):  # noqa: F811
    """Even a correctly signed URL: X-Amz-Expires over 604800 is S3's 400 AuthorizationQueryParametersError,
    an X-Amz-Date beyond the clock skew is not valid yet."""
    bucket, server = served
    bucket.put("k", b"v")
    secret = bucket.backend.store.secret
    week = local_presign.presign(secret, server.url, "GET", bucket.name, "k", 7 * 86_400 + 1, None)
    response = httpx.get(week)
    assert response.status_code == 400 and "AuthorizationQueryParametersError" in response.text
    ahead = local_presign.presign(secret, server.url, "GET", bucket.name, "k", 60, None, now=time.time() + 3600)
    response = httpx.get(ahead)
    assert response.status_code == 403 and "Request is not valid yet" in response.text
    within = local_presign.presign(secret, server.url, "GET", bucket.name, "k", 60, None, now=time.time() + 60)
    assert httpx.get(within).content == b"v"  # a little skew is tolerated


# -- the property, on the signer itself ---------------------------------------------------------------
SECRET = b"s" * 32
BASE = "http://127.0.0.1:8000"
KEYS = st.lists(
    st.sampled_from(["a", "b", "/", "%", "\n", "=", "&", "?", "é", "✓", " ", "+", "%0A", "9", "\U0001f600"]),
    min_size=1,
    max_size=10,
).map("".join)


def _verify(method: str, key: str, query: list[tuple[str, str]], content_type: str = "") -> bool:
    try:
        local_presign.verify(
            SECRET, method, "files", key, query, {"host": "127.0.0.1:8000", "content-type": content_type}
        )
    except Refused:
        return False
    return True


@given(a=KEYS, b=KEYS, method=st.sampled_from(["GET", "PUT"]), part=st.sampled_from([None, 1, 12]))
@settings(max_examples=300, deadline=None)
def test_no_url_signed_for_one_key_verifies_for_another(a, b, method, part):
    assume(a != b)
    upload = "u1" if part else None
    query = _query(local_presign.presign(SECRET, BASE, method, "files", a, 3600, None, upload, part))
    assert _verify(method, a, query)
    assert not _verify(method, b, query)
    assert not _verify("PUT" if method == "GET" else "GET", a, query)


@given(
    key=KEYS,
    content_type=st.sampled_from([None, "image/png", "text/plain\nX-Amz-Expires=604800"]),
    part=st.sampled_from([None, 3]),
    data=st.data(),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_tampering_with_any_query_parameter_fails(key, content_type, part, data):
    query = _query(local_presign.presign(SECRET, BASE, "PUT", "files", key, 3600, content_type, "up", part))
    assert _verify("PUT", key, query, content_type or "")
    index = data.draw(st.integers(0, len(query) - 1))
    name, value = query[index]
    how = data.draw(st.sampled_from(["change", "drop", "duplicate", "add"]))
    if how == "change":
        new = data.draw(st.text(max_size=12).filter(lambda v: v != value))
        tampered = [*query[:index], (name, new), *query[index + 1 :]]
    elif how == "drop":
        tampered = query[:index] + query[index + 1 :]
    elif how == "duplicate":
        tampered = [*query, (name, data.draw(st.text(max_size=12)))]
    else:
        tampered = [*query, (data.draw(st.sampled_from(["partNumber", "uploadId", "x-id", "X-Amz-Foo"])), "1")]
        assume(tampered[-1][0] not in dict(query))
    assert not _verify("PUT", key, tampered, content_type or "")
    if content_type:
        assert not _verify("PUT", key, query, content_type + " ")


@given(
    a=st.tuples(KEYS, st.sampled_from([None, "x", "x\ny"]), st.sampled_from([None, 1, 2])),
    b=st.tuples(KEYS, st.sampled_from([None, "x", "x\ny"]), st.sampled_from([None, 1, 2])),
)
@settings(max_examples=300, deadline=None)
def test_different_tuples_never_share_a_canonical_request(a, b):
    assume(a != b)
    requests = []
    for key, content_type, part in (a, b):
        query = _query(
            local_presign.presign(
                SECRET, BASE, "PUT", "files", key, 60, content_type, "u" if part else None, part, now=0
            )
        )
        headers = {"host": "127.0.0.1:8000", "content-type": content_type or ""}
        requests.append(local_presign.canonical_request("PUT", "files", key, query, headers))
    assert requests[0] != requests[1]


def test_the_secret_file_is_private(tmp_path):
    app = strato.App("perm", data_dir=tmp_path, provider="local")
    app.bucket("b").presign_get("k")
    assert (tmp_path / "bucket-signing.key").stat().st_mode & 0o777 == 0o600
    app.close()


def test_range_headers_are_read_as_s3_reads_them(served):  # noqa: F811
    """S3's GetObject Range is RFC 9110's (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
    "For more information about the HTTP Range header, see https://www.rfc-editor.org/rfc/rfc9110.html#name-range";
    one range per request): a position past the end is 416 InvalidRange, a zero-length suffix is
    unsatisfiable (416), a suffix longer than the object is the whole object, and a Range that does not
    parse (or whose last position precedes its first) is ignored: 200 and the whole object."""
    bucket, _ = served
    bucket.put("data.bin", bytes(range(100)))
    url = bucket.presign_get("data.bin")
    digits = "9" * 4000  # thousands, yet within API Gateway's 10,240-byte head (strato dev answers 431 beyond)
    for header in (f"bytes={digits}-", f"bytes={digits}-{digits}", "bytes=-0", "bytes=-000", "bytes=100-"):
        response = httpx.get(url, headers={"Range": header})
        assert response.status_code == 416, (header[:20], response.status_code)
        assert "<Code>InvalidRange</Code>" in response.text
    for header in (f"bytes=-{digits}", f"bytes=0-{digits}"):
        response = httpx.get(url, headers={"Range": header})
        assert response.status_code == 206 and response.content == bytes(range(100)), header[:20]
        assert response.headers["content-range"] == "bytes 0-99/100"
    response = httpx.get(url, headers={"Range": f"bytes=90-{digits}"})
    assert response.status_code == 206 and response.content == bytes(range(90, 100))
    for header in (f"bytes={digits}", "bytes=abc", "bytes=5-3", "bytes=0-1,3-4", "items=0-1", "bytes=-", "bytes"):
        response = httpx.get(url, headers={"Range": header})
        assert response.status_code == 200 and response.content == bytes(range(100)), header[:20]
        assert "content-range" not in response.headers
