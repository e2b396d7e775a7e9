"""Read a stream batch back from a DynamoDB stream, given where Lambda said it was.

Shared by the CLI's redrive and the local fault ledger; takes a ``dynamodbstreams`` client,
imports no SDK itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


def stream_records(streams: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch's records read back from the stream, shaped as Lambda delivers them.

    Empty when they are no longer in the stream (trimmed after 24 hours, or another stream).
    """
    try:
        start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    except (KeyError, TypeError, ValueError):
        return []  # not a stream batch's position
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=str(start),
        )["ShardIterator"]
    except (ClientError, BotoCoreError, KeyError):
        return []
    records: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        batch = page.get("Records", [])
        for record in batch:
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                return records
            records.append(_as_delivered(record, info["streamArn"]))
        if not batch:
            return records
        iterator = page.get("NextShardIterator")
    return records


def _as_delivered(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """GetRecords' record as an event source mapping hands it over: epoch seconds, source ARN."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}
