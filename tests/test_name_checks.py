"""The string checks that replaced regular expressions on the cold-start path (compiling one costs a
Lambda 0.1-0.2 ms) accept exactly what the expressions' full matches did."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from strato.core.config import env_token, valid_name
from strato.http.routing import _param

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}")
TEXT = st.text(alphabet="aZ09_-+{}é .\n", max_size=70)


@given(TEXT)
def test_resource_names(text):
    assert valid_name(text) == bool(NAME.fullmatch(text))


@given(TEXT | TEXT.map(lambda t: "{" + t + "}"))
def test_route_parameters(text):
    match = PARAM.fullmatch(text)
    assert _param(text) == ((match[1], bool(match[2])) if match else None)


@given(TEXT)
def test_environment_spelling(text):
    assert env_token(text) == re.sub(r"[^A-Za-z0-9]", "_", text).upper()


def test_a_trailing_newline_is_not_a_name():  # the old `^...$` expression let "jobs\n" through
    assert not valid_name("jobs\n")
