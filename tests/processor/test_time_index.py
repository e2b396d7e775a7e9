"""The time index: bucket assignment and range planning are pure; the query runs on moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from processor_support import TABLE, load_event

from s3flow import contract
from s3flow.cli.time_range import plan_range_queries, query_time_range
from s3flow.functions.processor.time_index import format_timestamp, shard_of, time_bucket

T0 = datetime(2026, 11, 24, 10, 15, 30, 123000, tzinfo=UTC)


def test_timestamp_is_utc_iso_with_milliseconds_and_z() -> None:
    paris = timezone(timedelta(hours=1))
    assert (
        format_timestamp(datetime(2026, 11, 24, 11, 15, 30, 123456, tzinfo=paris))
        == "2026-11-24T10:15:30.123Z"
    )


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        format_timestamp(datetime(2026, 11, 24))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError):
        plan_range_queries(datetime(2026, 11, 24), T0, 4)  # noqa: DTZ001


def test_time_bucket_is_utc_day_and_stable_shard() -> None:
    digest = "ff" * 32
    late_evening_new_york = datetime(2026, 11, 23, 22, 0, tzinfo=timezone(timedelta(hours=-5)))

    assert time_bucket(digest, late_evening_new_york, 4) == f"2026-11-24#{int(digest, 16) % 4}"


def test_shards_spread_ids() -> None:
    import hashlib

    shards = {shard_of(hashlib.sha256(str(i).encode()).hexdigest(), 4) for i in range(100)}
    assert shards == {0, 1, 2, 3}


def test_one_query_per_day_and_shard_bounded_to_the_range() -> None:
    start = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
    end = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)

    specs = plan_range_queries(start, end, 3)

    assert [s.time_bucket for s in specs] == [f"2026-11-{d}#{s}" for d in (24, 25, 26) for s in range(3)]
    assert (specs[0].lower, specs[0].upper) == ("2026-11-24T22:00:00.000Z", "2026-11-24T23:59:59.999Z")
    assert (specs[3].lower, specs[3].upper) == ("2026-11-25T00:00:00.000Z", "2026-11-25T23:59:59.999Z")
    assert (specs[-1].lower, specs[-1].upper) == ("2026-11-26T00:00:00.000Z", "2026-11-26T01:30:00.000Z")
    assert all(s.index_name == contract.TIME_INDEX_NAME for s in specs)


def test_empty_range_plans_nothing() -> None:
    assert plan_range_queries(T0, T0 - timedelta(seconds=1), 4) == []


def test_range_query_returns_exactly_the_items_in_range(aws, invoke) -> None:
    # GIVEN five objects at 10:15:30.000, :31.001, ... :34.004 and one from the next day
    event = load_event("s3_put_five")
    late = dict(event["Records"][0], eventTime="2026-11-25T00:00:00.000Z")
    late["s3"] = {**late["s3"], "object": {**late["s3"]["object"], "versionId": "next-day"}}
    invoke({"Records": [*event["Records"], late]})

    # WHEN asking for 10:15:31.001 .. 10:15:33.003 inclusive
    found = query_time_range(
        aws.dynamodb,
        TABLE,
        datetime(2026, 11, 24, 10, 15, 31, 1000, tzinfo=UTC),
        datetime(2026, 11, 24, 10, 15, 33, 3000, tzinfo=UTC),
    )

    # THEN exactly the three items inside the range come back, oldest first
    assert [item["objectKey"] for item in found] == [
        "batch/file-1.csv",
        "batch/file-2.csv",
        "batch/file-3.csv",
    ]

    across_midnight = query_time_range(
        aws.dynamodb,
        TABLE,
        datetime(2026, 11, 24, 10, 15, 34, tzinfo=UTC),
        datetime(2026, 11, 25, 1, tzinfo=UTC),
    )
    assert [item["timestamp"] for item in across_midnight] == [
        "2026-11-24T10:15:34.004Z",
        "2026-11-25T00:00:00.000Z",
    ]


def test_range_query_follows_pagination(aws, api_calls) -> None:
    from s3flow.functions.shared.dynamodb_json import to_dynamo

    for i in range(30):
        when = T0 + timedelta(seconds=i)
        item = {"requestId": f"{i:064x}", "timestamp": format_timestamp(when), "status": "SUCCESS",
                "timeBucket": time_bucket(f"{i:064x}", when, 1), "pad": "x" * 40_000}  # fmt: skip
        aws.dynamodb.put_item(TableName=TABLE, Item=to_dynamo(item))

    found = query_time_range(aws.dynamodb, TABLE, T0, T0 + timedelta(minutes=1), shards=1)

    assert len(found) == 30
    assert len(api_calls.of("dynamodb", "Query")) > 1  # the table returned more than one page
