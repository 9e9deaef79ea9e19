"""The SNS filter-policy matcher against the examples in the Amazon SNS developer guide."""

from __future__ import annotations

import json

import pytest

import strato
from strato.topic.filter import complexity, matches, validate


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
        ({"$or": [{"a": ["b"]}]}, "attributes", "at least two"),
        ({"k": []}, "attributes", "empty"),
        ({"k": "v"}, "attributes", "list"),
        ({}, "attributes", "non-empty"),
        ({"k": ["v"]}, "everything", "scope"),
        ({"k": [{"numeric": ["<", 1e10]}]}, "attributes", "1e9"),
        ({"k": [{"exists": "yes"}]}, "attributes", "exists"),
        ({"k": [[1]]}, "attributes", "condition"),
        ({"k": [{"cidr": "10.0.0.0/33"}]}, "attributes", "cidr"),
        ({"k": [{"cidr": "not-an-ip"}]}, "attributes", "cidr"),
        ({"a.b": ["x"], "a": {"b": ["y"]}}, "body", "twice"),
    ],
)
def test_invalid_policies(policy, scope, match):
    with pytest.raises(strato.ValidationError, match=match):
        validate(policy, scope)


CONSTRAINTS = "https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html"


@pytest.mark.parametrize(
    "policy,attrs,expected",
    [
        ({"v": [1]}, {"v": N("1.000001")}, True),
        ({"v": [1]}, {"v": N("1.00001")}, False),
        ({"v": [{"numeric": ["=", 301.5]}]}, {"v": N("301.500004")}, True),
        ({"v": [{"numeric": [">", 0]}]}, {"v": N("0.000001")}, False),
        ({"v": [{"numeric": [">", 0]}]}, {"v": N("0.00001")}, True),
        ({"v": [{"anything-but": [100]}]}, {"v": N("100.000001")}, False),
    ],
)
def test_numbers_match_to_five_decimal_digits(policy, attrs, expected):
    """SNS: "Numeric matching: the value can range from -10^9 to 10^9, with five digits of accuracy after
    the decimal point." https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
    https://docs.aws.amazon.com/sns/latest/dg/numeric-value-matching.html"""
    assert attr_match(policy, **attrs) is expected
    body = {k: float(a["Value"]) for k, a in attrs.items()}
    assert body_match(policy, body) is expected


def test_true_false_and_null_are_policy_values():
    """SNS: "The JSON of the filter policy can contain ... the keywords true, false, and null, without
    quotation marks." https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html"""
    for scope in ("attributes", "body"):
        validate({"flag": [True, False, None]}, scope)
    assert body_match({"flag": [True]}, {"flag": True})
    assert not body_match({"flag": [True]}, {"flag": "true"})
    assert not body_match({"flag": [True]}, {"flag": 1})
    assert not body_match({"flag": [1]}, {"flag": True})
    assert body_match({"flag": [False]}, {"flag": False})
    assert not body_match({"flag": [False]}, {"flag": None})
    assert body_match({"flag": [None]}, {"flag": None})
    assert attr_match({"flags": [True]}, flags=SA([False, True]))
    assert not attr_match({"flags": [True]}, flags=S("true"))
    assert attr_match({"flags": [None]}, flags=SA(["x", None]))


def test_a_dotted_name_in_body_scope_is_the_nested_field():
    """SNS flattens the message body and the policy into dotted field names, so ``"a.b"`` and
    ``{"a": {"b": ...}}`` name the same field on either side.
    https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html (payload-based filtering)"""
    assert body_match({"a.b": ["x"]}, {"a": {"b": "x"}})
    assert body_match({"a.b": ["x"]}, {"a.b": "x"})
    assert body_match({"a": {"b": ["x"]}}, {"a.b": "x"})
    assert not body_match({"a.b": ["x"]}, {"a": {"b": "y"}})
    assert body_match({"a.b.c": [{"numeric": [">", 1]}]}, {"a": {"b.c": 2}})
    assert body_match({"a.b": ["x"], "a": {"c": ["y"]}}, {"a": {"b": "x", "c": "y"}})
    assert body_match({"a.b": ["x"]}, {"a": [{"b": "z"}, {"b": "x"}]})


def test_arrays_of_arrays_are_flattened():
    """Arrays match when any element matches; SNS flattens nested arrays into one list of values.
    https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html"""
    assert body_match({"a": [3]}, {"a": [[1, 2], [3]]})
    assert body_match({"a": [{"prefix": "ba"}]}, {"a": [["rugby"], [["baseball"]]]})
    assert not body_match({"a": [4]}, {"a": [[1, 2], [3]]})
    assert body_match({"store": {"city": ["Seattle"]}}, {"store": [[{"city": "Paris"}], [{"city": "Seattle"}]]})
    assert attr_match({"tags": ["x"]}, tags=SA([["x"], "y"]))


@pytest.mark.parametrize(
    "value,network,expected",
    [
        ("10.0.0.42", "10.0.0.0/24", True),
        ("10.0.1.1", "10.0.0.0/24", False),
        ("192.168.1.7", "192.168.1.7/32", True),
        ("2001:db8::1", "2001:db8::/32", True),
        ("2001:db9::1", "2001:db8::/32", False),
        ("10.0.0.1", "2001:db8::/32", False),
        ("not an ip", "10.0.0.0/8", False),
    ],
)
def test_cidr_matches_ip_addresses(value, network, expected):
    """IP address matching: ``{"cidr": "10.0.0.0/24"}`` matches attribute values inside the network.
    https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html (IP address matching)"""
    assert attr_match({"source_ip": [{"cidr": network}]}, source_ip=S(value)) is expected


def test_complexity_as_aws_counts_it():
    """The documented example: 3 x 1 x 2 = 6; an $or adds its branches' combinations.
    https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
    https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html"""
    documented = {
        "key_a": ["value_one", "value_two", "value_three"],
        "key_b": ["value_one"],
        "key_c": ["value_one", "value_two"],
    }
    assert complexity(documented) == 6
    with_or = {
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"metricType": ["MetricType"], "$or": [{"metricId": [1234, 4321]}, {"spaces": [1000, 2000, 3000]}]},
        ],
    }
    assert complexity(with_or) == 1 * (2 + 1 * (2 + 3))


def test_a_policy_of_150_combinations_is_accepted_and_151_refused():
    """SNS allows 150 combinations, nested or not (nesting adds no combinations of its own).
    https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html"""
    five, six = [f"v{i}" for i in range(5)], [f"w{i}" for i in range(6)]
    nested = {"a": {"b": {"c": five, "d": five}}, "e": six}
    assert complexity(nested) == 150
    validate(nested, "body")
    validate({"x": five, "y": five, "z": six})
    with pytest.raises(strato.ValidationError, match="151 combinations"):
        validate({"a": {"b": [f"v{i}" for i in range(151)]}}, "body")
    with pytest.raises(strato.ValidationError, match="complex"):
        validate({"x": five, "y": five, "z": six, "$or": [{"p": ["1"]}, {"q": ["1"]}]})


def test_key_matching_reaches_nested_fields_in_body_scope():
    """``exists`` on a nested field: SNS matches the message body's flattened fields, so a field
    missing under an object (or under a name that holds no object) does not exist.
    https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html"""
    absent = {"store": {"city": [{"exists": False}]}}
    assert body_match(absent, {"store": {"size": 1}})
    assert body_match(absent, {"other": 1})
    assert body_match(absent, {"store": "closed"})
    assert not body_match(absent, {"store": {"city": "Seattle"}})
    assert not body_match(absent, {})
    present = {"store": {"city": [{"exists": True}]}}
    assert body_match(present, {"store": {"city": "Seattle"}})
    assert not body_match(present, {"other": 1})
    assert body_match({"store.city": [{"exists": False}]}, {"store": {"size": 1}})
