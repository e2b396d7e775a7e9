"""The time index's range query on moto: exactly the items in range, across pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from s3flow.cli.time_range import query_time_range
from s3flow.functions.processor.time_index import format_timestamp, time_bucket
from support.functions import TABLE, load_event

T0 = datetime(2026, 11, 24, 10, 15, 30, 123000, tzinfo=UTC)


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
