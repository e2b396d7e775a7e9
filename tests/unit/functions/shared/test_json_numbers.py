"""``dynamodb_json.to_json``: the text json.dumps writes (sorted keys, compact, UTF-8 kept), with
every DynamoDB number written as the exact number it holds."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3flow.functions.shared.dynamodb_json import deserialize, serialize, to_json

plain_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(plain_values)
def test_without_decimals_the_text_is_json_dumps_text(value: Any) -> None:
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    assert to_json(value) == expected


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_a_dynamodb_number_reads_back_as_the_same_number(number: Decimal) -> None:
    try:
        stored = deserialize(serialize(number))
    except ArithmeticError:
        return  # DynamoDB does not hold this one
    text = to_json({"n": stored})

    assert json.loads(text, parse_float=Decimal)["n"] == number
    assert json.loads(text)["n"] is not None  # valid JSON for any reader


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (Decimal("0.1"), "0.1"),
        (Decimal("19.990"), "19.990"),
        (Decimal("0.1000000000000000000000000000000000001"), "0.1000000000000000000000000000000000001"),
        (Decimal("1E+2"), "100"),
        (Decimal("5.0"), "5"),
        (Decimal("-0"), "0"),
        (Decimal("1.5E-7"), "1.5E-7"),
        (Decimal("1E+400000000"), "1E+400000000"),  # never spelled out digit by digit
        (Decimal("NaN"), "NaN"),  # as json.dumps writes a float NaN: callers refuse the text
        (Decimal("-Infinity"), "-Infinity"),
    ],
)
def test_decimals_are_written_exactly(number: Decimal, text: str) -> None:
    assert to_json([number]) == f"[{text}]"


def test_sets_are_lists_and_other_objects_are_refused() -> None:
    assert to_json({"s": {Decimal("1.5")}}) == '{"s":[1.5]}'
    with pytest.raises(TypeError):
        to_json({"b": b"bytes"})
    with pytest.raises(TypeError):
        to_json({1: "not a string key"})
