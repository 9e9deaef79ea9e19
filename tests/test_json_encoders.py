"""The JSON encoders built once at import give exactly what ``json.dumps`` with the same options gave
per call: queue message bodies, JSON cache values and metric dimension keys."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from strato.cache import encode as cache_encode
from strato.core.errors import ValidationError
from strato.metrics.local import dims_key
from strato.queue.message import _json_default, encode_body

SAMPLES = [{"a": [1, 2.5, None, True]}, ["é", "日本", "\u2028"], {"nested": {"k": ""}}, 0, 1.5e300, "plain"]


@pytest.mark.parametrize("value", SAMPLES, ids=range(len(SAMPLES)))
def test_queue_bodies_and_cache_values_match_json_dumps(value):
    if isinstance(value, str):  # sent and cached as they are, not as JSON
        return
    assert encode_body(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    if not isinstance(value, int):  # a cached int is its plain decimal (for Redis INCR)
        assert cache_encode(value) == b"\x00j" + json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def test_decimals_in_bodies_and_bad_values_keep_their_errors():
    assert encode_body({"d": Decimal("2"), "f": Decimal("0.5")}) == '{"d":2,"f":0.5}'
    with pytest.raises(ValidationError, match="JSON-serialisable"):
        encode_body({"x": object()})
    with pytest.raises((ValueError, ValidationError)):
        cache_encode({"nan": float("nan")})


def test_dimension_keys_are_sorted_compact_ascii_json():
    assert dims_key({"b": "2", "a": "é"}) == json.dumps([["a", "é"], ["b", "2"]], separators=(",", ":"))
    assert dims_key({}) == "[]"
