"""The DynamoDB adapter's item format: items round-trip."""

from __future__ import annotations

from decimal import Decimal

from s3flow.functions.processor.store import from_dynamo, to_dynamo


def test_items_round_trip_through_the_dynamodb_format() -> None:
    original = {"requestId": "a", "size": 3, "steps": {"s": {"n": Decimal("1.5")}}, "flag": True}

    assert from_dynamo(to_dynamo(original)) == original
