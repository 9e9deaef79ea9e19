"""The SNS filter-policy matcher against the examples in the Amazon SNS developer guide."""

from __future__ import annotations

import json

import pytest

import strato
from strato.topic.filter import matches, validate


def S(value):
    return {"Type": "String", "Value": value}


def N(value):
    return {"Type": "Number", "Value": str(value)}


def SA(values):
    return {"Type": "String.Array", "Value": json.dumps(values)}


def attr_match(policy, **attrs):
    return matches(validate(policy), attributes=attrs)


def body_match(policy, body):
    return matches(validate(policy, "body"), body=json.dumps(body), scope="body")


@pytest.mark.parametrize(
    "attr,expected",
    [
        (S("rugby"), True),
        (S("tennis"), True),
        (SA(["rugby", "tennis"]), True),
        (S("baseball"), False),
        (SA(["baseball"]), False),
    ],
)
def test_exact_string_matching(attr, expected):
    assert attr_match({"customer_interests": ["rugby", "tennis"]}, customer_interests=attr) is expected


def test_exact_string_matching_on_the_body():
    policy = {"customer_interests": ["rugby", "tennis"]}
    assert body_match(policy, {"customer_interests": "rugby"})
    assert body_match(policy, {"customer_interests": ["baseball", "tennis"]})
    assert not body_match(policy, {"customer_interests": "baseball"})


@pytest.mark.parametrize(
    "condition,value,expected",
    [
        ({"prefix": "bas"}, "baseball", True),
        ({"prefix": "bas"}, "basketball", True),
        ({"prefix": "bas"}, "rugby", False),
        ({"suffix": "ball"}, "baseball", True),
        ({"suffix": "ball"}, "rugby", False),
        ({"equals-ignore-case": "tennis"}, "TENNIS", True),
        ({"equals-ignore-case": "tennis"}, "Tennis", True),
        ({"equals-ignore-case": "tennis"}, "rugby", False),
        ({"anything-but": {"prefix": "bas"}}, "rugby", True),
        ({"anything-but": {"prefix": "bas"}}, "baseball", False),
        ({"anything-but": {"suffix": "ball"}}, "baseball", False),
        ({"anything-but": {"suffix": "ball"}}, "rugby", True),
    ],
)
def test_string_operators(condition, value, expected):
    assert attr_match({"customer_interests": [condition]}, customer_interests=S(value)) is expected


@pytest.mark.parametrize(
    "attr,expected",
    [
        (S("baseball"), True),
        (S("football"), True),
        (SA(["rugby", "baseball"]), True),
        (S("rugby"), False),
        (S("tennis"), False),
        (SA(["rugby", "tennis"]), False),
    ],
)
def test_anything_but_strings(attr, expected):
    assert (
        attr_match({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}, customer_interests=attr) is expected
    )


def test_anything_but_needs_the_key():
    assert not attr_match({"customer_interests": [{"anything-but": ["rugby"]}]}, other=S("x"))


@pytest.mark.parametrize("value,expected", [(301.5, True), ("3.015e2", True), (301, False)])
def test_numeric_exact(value, expected):
    assert attr_match({"price_usd": [{"numeric": ["=", 301.5]}]}, price_usd=N(value)) is expected


@pytest.mark.parametrize(
    "attr,expected",
    [
        (N(101), True),
        (N(100.1), True),
        ({"Type": "Number.Array", "Value": "[100, 50]"}, True),
        (N(100), False),
    ],
)
def test_anything_but_numbers(attr, expected):
    assert attr_match({"price": [{"anything-but": [100, 500]}]}, price=attr) is expected


@pytest.mark.parametrize("value,expected", [(1, True), (150, True), (0, False), (151, False), (-5, False)])
def test_numeric_range(value, expected):
    assert attr_match({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, price_usd=N(value)) is expected


def test_plain_number_matches_numerically_and_not_strings():
    assert attr_match({"n": [5]}, n=N("5.0"))
    assert not attr_match({"n": [5]}, n=S("5"))
    assert not attr_match({"n": ["5"]}, n=N(5))


def test_exists():
    interests = SA(["baseball", "basketball"])
    assert attr_match({"store": [{"exists": True}]}, store=S("fans"), customer_interests=interests)
    assert not attr_match({"store": [{"exists": True}]}, customer_interests=interests)
    assert not attr_match({"store": [{"exists": False}]}, store=S("fans"), customer_interests=interests)
    assert attr_match({"store": [{"exists": False}]}, customer_interests=interests)
    assert not matches({"store": [{"exists": False}]}, attributes={})  # no attributes at all: no match
    assert body_match({"store": [{"exists": True}]}, {"store": "fans"})
    assert not body_match({"store": [{"exists": True}]}, {"store": ""})
    assert body_match({"store": [{"exists": False}]}, {"customer_interests": ["baseball"]})


def test_and_across_keys_or_within_a_key():
    policy = {"customer_interests": ["rugby", "football"], "price_usd": [{"numeric": [">", 100]}]}
    assert attr_match(policy, customer_interests=S("football"), price_usd=N(150))
    assert not attr_match(policy, customer_interests=S("football"), price_usd=N(50))
    assert not attr_match(policy, customer_interests=S("football"))


def test_or_operator():
    policy = {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}
    assert attr_match(policy, source=S("aws.cloudwatch"), metricName=S("CPUUtilization"))
    assert attr_match(policy, source=S("aws.cloudwatch"), namespace=S("AWS/EC2"))
    assert not attr_match(policy, source=S("aws.cloudwatch"), namespace=S("AWS/S3"))
    assert not attr_match(policy, source=S("aws.s3"), namespace=S("AWS/EC2"))


def test_nested_body_policies_and_arrays_of_objects():
    policy = {"store": {"city": ["Seattle"], "size": [{"numeric": [">=", 10]}]}}
    assert body_match(policy, {"store": {"city": "Seattle", "size": 12}})
    assert not body_match(policy, {"store": {"city": "Seattle", "size": 2}})
    assert body_match(policy, {"store": [{"city": "Paris", "size": 50}, {"city": "Seattle", "size": 10}]})
    assert not body_match(policy, {"store": "Seattle"})
    assert body_match({"deleted": [None]}, {"deleted": None})
    assert not body_match({"deleted": [None]}, {"other": 1})
    assert not matches({"a": ["x"]}, body="not json", scope="body")


def test_binary_attributes_are_ignored():
    assert not attr_match({"blob": [{"exists": True}]}, blob={"Type": "Binary", "Value": "AAE="})


@pytest.mark.parametrize(
    "policy,scope,match",
    [
        ({f"k{i}": ["v"] for i in range(6)}, "attributes", "5 keys"),
        ({"k": [f"v{i}" for i in range(151)]}, "attributes", "complex"),
        ({"k": [{"regex": ".*"}]}, "attributes", "unknown operator"),
        ({"k": [{"numeric": ["<", 5, ">", 1]}]}, "attributes", "range"),
        ({"k": [{"numeric": [">", 5, "<", 1]}]}, "attributes", "below"),
        ({"k": [{"numeric": ["==", 5]}]}, "attributes", "operator"),
        ({"k": {"nested": ["v"]}}, "attributes", "body"),
        ({"k": [None]}, "attributes", "null"),
        ({"$or": [{"a": ["b"]}]}, "attributes", "at least two"),
        ({"k": []}, "attributes", "empty"),
        ({"k": "v"}, "attributes", "list"),
        ({}, "attributes", "non-empty"),
        ({"k": ["v"]}, "everything", "scope"),
        ({"k": [{"numeric": ["<", 1e10]}]}, "attributes", "1e9"),
        ({"k": [{"exists": "yes"}]}, "attributes", "exists"),
        ({"k": [True]}, "attributes", "condition"),
    ],
)
def test_invalid_policies(policy, scope, match):
    with pytest.raises(strato.ValidationError, match=match):
        validate(policy, scope)
