"""A step's numbers end as one value in three places: what ``storable`` keeps, the DynamoDB
number (N) the item is written with, and the JSON number of the event's detail. Decimals are
taken as DynamoDB takes them; floats as their shortest text; nothing is rounded on the way."""

from __future__ import annotations

import enum
import json
from decimal import Decimal
from typing import Any

import pytest

from s3flow.functions.processor.exceptions import StepOutputError
from s3flow.functions.processor.items import with_step_fields
from s3flow.functions.processor.steps.registry import storable
from s3flow.functions.publisher import outbox
from s3flow.functions.shared.dynamodb_json import to_dynamo
from support.stream_records import object_item, stream_record

EXACT = {
    "tenth": Decimal("0.1"),
    "price": Decimal("19.99"),
    "long": Decimal("0.1000000000000000000000000000000000001"),  # 37 digits: no float holds it
    "big": Decimal("12345678901234567890123456789012345678"),
    "tiny": Decimal("1E-130"),
    "huge": Decimal("9.9999999999999999999999999999999999999E+125"),
    "negative": Decimal("-2.5"),
    "count": 3,
    "ratio": 0.25,
    "list": [Decimal("1.10"), 7],
}


def test_decimals_are_kept_and_floats_become_the_decimal_of_their_text() -> None:
    stored = storable("s", EXACT)

    assert stored["long"] == Decimal("0.1000000000000000000000000000000000001")
    assert stored["ratio"] == Decimal("0.25") and isinstance(stored["ratio"], Decimal)
    assert stored["count"] == 3 and isinstance(stored["count"], int)
    assert storable("s", {"third": 1 / 3})["third"] == Decimal("0.3333333333333333")


def test_a_steps_decimals_are_dynamodb_numbers_and_exact_json_numbers_in_the_event() -> None:
    # GIVEN a step's fields with Decimals on an object's item
    item = with_step_fields(object_item("prices.csv"), {"totals": storable("totals", EXACT)})

    # WHEN the item is written (DynamoDB JSON) and its stream record published
    wire = to_dynamo(item)["steps"]["M"]["totals"]["M"]
    [sent] = outbox.plan(
        outbox.parse_stream_event({"Records": [stream_record("INSERT", 1, new=item)]}), event_bus_name="bus"
    ).outgoing

    # THEN each number is an N holding its digits, and the detail holds the same digits
    assert wire["tenth"] == {"N": "0.1"}
    assert wire["long"] == {"N": "0.1000000000000000000000000000000000001"}
    assert wire["list"] == {"L": [{"N": "1.10"}, {"N": "7"}]}
    text = sent.entry["Detail"]
    assert '"tenth":0.1,' in text and '"long":0.1000000000000000000000000000000000001,' in text
    totals = json.loads(text, parse_float=Decimal)["steps"]["totals"]
    assert totals == {**EXACT, "ratio": Decimal("0.25"), "list": [Decimal("1.10"), 7]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Decimal("NaN"), "not JSON"),
        (Decimal("sNaN"), "not JSON"),
        (Decimal("-Infinity"), "not JSON"),
        (float("inf"), "not JSON"),
        (Decimal("1" * 39), "cannot store exactly"),
        (10**38, "cannot store exactly"),
        (Decimal("1E-131"), "cannot store exactly"),
        (Decimal("1E+126"), "cannot store exactly"),
        (1e-200, "cannot store exactly"),
        (1e300, "cannot store exactly"),
    ],
)
def test_numbers_json_or_dynamodb_cannot_hold_are_refused(value: Any, message: str) -> None:
    # Refused here, the object becomes a step error; passed on, the write itself would fail
    # and take the whole invocation down with it.
    with pytest.raises(StepOutputError, match=message):
        storable("s", {"nested": [{"value": value}]})


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def test_what_json_dumps_accepted_is_still_accepted() -> None:
    fields = {2: "a", True: "b", None: "c", 1.5: "d", "t": (1, 2), "e": Colour.RED, "l": Level.HIGH}

    assert storable("s", fields) == {
        "2": "a",
        "true": "b",
        "null": "c",
        "1.5": "d",
        "t": [1, 2],
        "e": "red",
        "l": 3,
    }
    assert type(storable("s", {"e": Colour.RED})["e"]) is str


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tags": {"a", "b"}}, "not JSON"),
        ({"blob": b"x"}, "not JSON"),
        ({(1, 2): "tuple key"}, "not JSON"),
        ({"": 1}, "empty name"),
        ({"a": {"": 1}}, "empty name"),
    ],
)
def test_other_output_is_refused(fields: Any, message: str) -> None:
    with pytest.raises(StepOutputError, match=message):
        storable("s", fields)


def test_a_cycle_is_refused_as_too_deep_not_a_recursion_error() -> None:
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle

    with pytest.raises(StepOutputError, match="deeper"):
        storable("s", cycle)


def test_the_size_limit_counts_the_detail_text() -> None:
    from s3flow.functions.processor.steps.registry import MAX_STEP_FIELDS_BYTES

    fits = {"n": Decimal("0." + "1" * 37), "blob": "x" * (MAX_STEP_FIELDS_BYTES - 60)}
    assert storable("s", fits)
    with pytest.raises(StepOutputError, match="over"):
        storable("s", {**fits, "blob": fits["blob"] + "x" * 60})
