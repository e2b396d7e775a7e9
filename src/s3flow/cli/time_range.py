"""Reading the time index for a range: one Query per (UTC day, shard), pure planning apart
from ``query_time_range``, a small adapter over an injected boto3 client.

Here and not in the functions' asset: only the CLI (and tests) read ranges back; the
processor only writes, with ``s3flow.functions.processor.time_index`` placing each item.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from s3flow import contract
from s3flow.functions.processor.time_index import format_timestamp
from s3flow.functions.shared.dynamodb_json import from_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True)
class QuerySpec:
    """One DynamoDB Query on the time index: one (day, shard) partition, a timestamp range."""

    time_bucket: str
    lower: str
    upper: str
    index_name: str = contract.TIME_INDEX_NAME

    def as_query_kwargs(self, table_name: str) -> dict[str, Any]:
        return {
            "TableName": table_name,
            "IndexName": self.index_name,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lower AND :upper",
            "ExpressionAttributeNames": {
                "#pk": contract.TIME_INDEX_PARTITION_KEY,
                "#sk": contract.TIME_INDEX_SORT_KEY,
            },
            "ExpressionAttributeValues": {
                ":pk": {"S": self.time_bucket},
                ":lower": {"S": self.lower},
                ":upper": {"S": self.upper},
            },
        }


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def plan_range_queries(start: datetime, end: datetime, shards: int) -> list[QuerySpec]:
    """Queries that together return every item with ``start <= timestamp <= end``.

    One per (UTC day, shard); each is bounded to the part of the range inside its day.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("range bounds must be time-zone aware")
    if shards < 1:
        raise ValueError("shards must be at least 1")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end < start:
        return []
    specs: list[QuerySpec] = []
    for day in _days(start.date(), end.date()):
        day_start = datetime.combine(day, time.min, tzinfo=UTC)
        day_end = day_start + timedelta(days=1) - MILLISECOND
        lower = format_timestamp(max(start, day_start))
        upper = format_timestamp(min(end, day_end))
        specs.extend(QuerySpec(f"{day.isoformat()}#{shard}", lower, upper) for shard in range(shards))
    return specs


def query_time_range(
    client: DynamoDBClient,
    table_name: str,
    start: datetime,
    end: datetime,
    *,
    shards: int = contract.DEFAULT_TIME_INDEX_SHARDS,
) -> list[dict[str, Any]]:
    """Every item whose timestamp is in ``[start, end]``, oldest first, as plain Python values."""
    items: list[dict[str, Any]] = []
    for spec in plan_range_queries(start, end, shards):
        kwargs = spec.as_query_kwargs(table_name)
        while True:
            page = client.query(**kwargs)
            items.extend(from_dynamo(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    items.sort(
        key=lambda item: (item.get(contract.TABLE_SORT_KEY, ""), item.get(contract.TABLE_PARTITION_KEY, ""))
    )
    return items
