"""core.record stands in for dataclasses on the cold-start path: it must behave as dataclasses does."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest

from strato.core import record


def _pair(module):
    """The same classes, built by ``module`` (dataclasses or core.record)."""

    @module.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0
        tags: tuple = module.field(default_factory=tuple)
        secret: str = module.field(default="s", repr=False)
        KIND: ClassVar[str] = "point"

    @module.dataclass
    class Job:
        name: str
        attempts: int = 0
        meta: dict = module.field(default_factory=dict)
        state: str = module.field(init=False)
        started: float | None = module.field(init=False, default=None)

        def __post_init__(self) -> None:
            self.state = f"new:{self.name}"

    @module.dataclass
    class Retried(Job):
        retries: int = 3

    return Point, Job, Retried


REAL, OURS = _pair(dataclasses), _pair(record)


def test_init_repr_eq_match_like_dataclasses():
    for (real, ours), args, kwargs in zip(
        zip(REAL, OURS, strict=True),
        [(1,), ("a",), ("b", 2)],
        [{"tags": (1,)}, {"meta": {"k": 1}}, {"retries": 5}],
        strict=True,
    ):
        a, b = real(*args, **kwargs), ours(*args, **kwargs)
        assert repr(a) == repr(b)
        assert vars(a) == vars(b)
        assert a.__match_args__ == b.__match_args__
        assert ours(*args, **kwargs) == b
        assert (b != ours(*args, **kwargs)) is False
        assert (b == a) is False  # another class, as dataclasses compares only the same class


def test_defaults_factories_and_class_attributes():
    point_real, job_real, _ = REAL
    point, job, retried = OURS
    assert point.y == point_real.y == 0 and point.KIND == "point"
    assert not hasattr(job, "name") and not hasattr(job_real, "name")  # no default: no class attribute
    first, second = job("a"), job("b")
    first.meta["x"] = 1
    assert second.meta == {} and first.state == "new:a" and first.started is None
    assert retried("c").retries == 3 and retried("c", 1, {}, 7).retries == 7
    with pytest.raises(TypeError):
        job()
    with pytest.raises(TypeError):
        job("a", state="x")  # init=False fields are not arguments


def test_frozen_and_hash_like_dataclasses():
    point_real, job_real, _ = REAL
    point, job, _ = OURS
    p = point(1, 2)
    assert hash(p) == hash(point_real(1, 2)) == hash(point(1, 2))
    with pytest.raises(AttributeError):
        p.x = 5
    with pytest.raises(AttributeError):
        del p.y
    assert job.__hash__ is None and job_real.__hash__ is None
    with pytest.raises(TypeError):
        hash(job("a"))


def test_own_methods_are_kept():
    @record.dataclass
    class Custom:
        a: int

        def __repr__(self) -> str:
            return "custom"

    assert repr(Custom(1)) == "custom" and Custom(1) == Custom(1)


def test_field_order_is_checked():
    with pytest.raises(TypeError):

        @record.dataclass
        class Bad:
            a: int = 1
            b: int
