"""DynamoDB adapter: the conditional PENDING write and the batch PUBLISHED write.

Takes an injected low-level client. AWS limits enforced here (moto does not):
BatchWriteItem takes at most 25 put requests per call, and may hand some back as
``UnprocessedItems``, which are retried with bounded backoff.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from s3flow import contract
from s3flow.processor.backoff import Backoff
from s3flow.processor.items import EVENT_STATE, STATE_PUBLISHED

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_BATCH_WRITE_ITEMS = 25
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class PutOutcome(enum.Enum):
    WRITTEN = "written"  # new item, event still to publish
    PENDING_EXISTS = "pending"  # an earlier attempt wrote it but did not publish
    PUBLISHED_EXISTS = "published"  # fully done before: a duplicate delivery


@dataclass(frozen=True)
class PutResult:
    outcome: PutOutcome
    item: dict[str, Any]  # the item to publish: ours, or the earlier attempt's


def to_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


def from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def put_pending(client: DynamoDBClient, table_name: str, item: dict[str, Any]) -> PutResult:
    """Write the item unless its key exists; if it does, say in which state.

    Other ``ClientError``s (throttling after botocore's own retries, ...) propagate.
    """
    try:
        client.put_item(
            TableName=table_name,
            Item=to_dynamo(item),
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": contract.TABLE_PARTITION_KEY},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as error:
        old = from_dynamo(error.response.get("Item") or {})
        if old.get(EVENT_STATE) == STATE_PUBLISHED:
            return PutResult(PutOutcome.PUBLISHED_EXISTS, old)
        return PutResult(PutOutcome.PENDING_EXISTS, old or item)
    return PutResult(PutOutcome.WRITTEN, item)


def mark_published(
    client: DynamoDBClient,
    table_name: str,
    items: Sequence[dict[str, Any]],
    *,
    backoff: Backoff | None = None,
) -> list[dict[str, Any]]:
    """Rewrite the items with ``eventState=PUBLISHED``; return those still not written."""
    backoff = backoff or Backoff()
    requests = [{"PutRequest": {"Item": to_dynamo({**item, EVENT_STATE: STATE_PUBLISHED})}} for item in items]
    left: list[dict[str, Any]] = []
    for start in range(0, len(requests), MAX_BATCH_WRITE_ITEMS):
        pending = requests[start : start + MAX_BATCH_WRITE_ITEMS]
        for attempt in range(backoff.attempts):
            response = client.batch_write_item(RequestItems={table_name: pending})
            pending = (response.get("UnprocessedItems") or {}).get(table_name, [])
            if not pending:
                break
            if attempt + 1 < backoff.attempts:
                backoff.pause(attempt)
        left.extend(from_dynamo(request["PutRequest"]["Item"]) for request in pending)
    return left
