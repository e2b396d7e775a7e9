"""Our attribute-value codec against boto3's TypeSerializer/TypeDeserializer, value for value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from s3flow.functions.shared.dynamodb_json import deserialize, serialize

numbers = st.one_of(
    st.integers(min_value=-(10**37), max_value=10**37),
    st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(), st.binary(min_size=1))
sets = st.one_of(
    st.frozensets(st.text(), min_size=1),
    st.frozensets(st.integers(min_value=-(10**37), max_value=10**37), min_size=1),
    st.frozensets(st.binary(min_size=1), min_size=1),
)
values = st.recursive(
    st.one_of(scalars, sets),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


def _plain(value: Any) -> Any:
    """boto3's Binary as bytes, so both sides compare as plain Python."""
    if isinstance(value, Binary):
        return bytes(value.value)
    if isinstance(value, dict):
        return {key: _plain(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_plain(member) for member in value]
    if isinstance(value, set):
        return {_plain(member) for member in value}
    return value


def _ordered(wire: Any) -> Any:
    """Set members sorted: both sides iterate the same set, but compare without relying on it."""
    if isinstance(wire, dict):
        return {
            key: sorted(member) if key in ("SS", "NS", "BS") else _ordered(member)
            for key, member in wire.items()
        }
    if isinstance(wire, list):
        return [_ordered(member) for member in wire]
    return wire


@settings(max_examples=300, deadline=None)
@given(values)
def test_serializing_matches_boto3(value: Any) -> None:
    assert _ordered(serialize(value)) == _ordered(TypeSerializer().serialize(value))


@given(st.one_of(st.integers(), st.decimals(allow_nan=False, allow_infinity=False)))
def test_any_number_is_accepted_or_refused_exactly_as_boto3_does(number: Any) -> None:
    try:
        expected = TypeSerializer().serialize(number)
    except Exception as error:  # noqa: BLE001 - the refusal is what is compared
        with pytest.raises(type(error)):
            serialize(number)
    else:
        assert serialize(number) == expected


@settings(max_examples=300, deadline=None)
@given(values)
def test_deserializing_matches_boto3_and_round_trips(value: Any) -> None:
    wire = TypeSerializer().serialize(value)

    ours = deserialize(wire)

    assert ours == _plain(TypeDeserializer().deserialize(wire))
    assert _ordered(serialize(ours)) == _ordered(wire)


@pytest.mark.parametrize(
    "value",
    [1.5, Decimal("NaN"), Decimal("Infinity"), Decimal("1" * 39), {1, "a"}, object(), [1, 2.0]],
    ids=["float", "nan", "infinity", "39-digits", "mixed-set", "object", "float-in-list"],
)
def test_what_boto3_refuses_we_refuse_too(value: Any) -> None:
    with pytest.raises(Exception) as boto3_error:
        TypeSerializer().serialize(value)

    with pytest.raises(type(boto3_error.value)):
        serialize(value)


def test_an_unknown_or_empty_attribute_value_is_refused_as_boto3_does() -> None:
    for wire in ({}, {"X": 1}):
        with pytest.raises(TypeError):
            TypeDeserializer().deserialize(wire)
        with pytest.raises(TypeError):
            deserialize(wire)
