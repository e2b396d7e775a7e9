"""DynamoDB adapter: the processor's only writes, both conditional.

A new item is written only if its key is free (a redelivery finds its own item and writes
nothing), and an existing item is replaced only while it records a failed processing step
(a redelivery retries the steps). Each write the table accepts reaches the publisher
through the table's stream, so what is written here is what gets announced.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from s3flow import contract
from s3flow.functions.processor.items import FAILED_STEP
from s3flow.functions.shared.aws_api import ApiCallError
from s3flow.functions.shared.dynamodb_json import from_dynamo, to_dynamo

if TYPE_CHECKING:
    from s3flow.functions.shared.aws_api import JsonApiClient

CONDITION_FAILED = "ConditionalCheckFailedException"


class PutOutcome(enum.Enum):
    WRITTEN = "written"  # the key was free: a new record (stream INSERT)
    EXISTS = "exists"  # the key was taken: ``item`` is the stored record, nothing written


@dataclass(frozen=True)
class PutResult:
    outcome: PutOutcome
    item: dict[str, Any]  # ours when written, else the stored one


def put_new(client: JsonApiClient, table_name: str, item: dict[str, Any]) -> PutResult:
    """Write the item unless its key exists; if it does, return the stored item.

    Other ``ApiCallError``s (throttling after the client's own retries, ...) propagate.
    """
    try:
        client.call(
            "PutItem",
            {
                "TableName": table_name,
                "Item": to_dynamo(item),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": contract.TABLE_PARTITION_KEY},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
        )
    except ApiCallError as error:
        if error.code != CONDITION_FAILED:
            raise
        return PutResult(PutOutcome.EXISTS, from_dynamo(error.response.get("Item") or {}))
    return PutResult(PutOutcome.WRITTEN, item)


def replace_step_error(client: JsonApiClient, table_name: str, item: dict[str, Any]) -> bool:
    """Replace the stored item if it still records a failed step; False if it no longer does.

    The condition makes two deliveries retrying the same object's steps at once replace it
    only once between them: the second finds a success and writes nothing.
    """
    try:
        client.call(
            "PutItem",
            {
                "TableName": table_name,
                "Item": to_dynamo(item),
                "ConditionExpression": "#status = :error AND attribute_exists(#failed)",
                "ExpressionAttributeNames": {"#status": "status", "#failed": FAILED_STEP},
                "ExpressionAttributeValues": {":error": {"S": contract.STATUS_ERROR}},
            },
        )
    except ApiCallError as error:
        if error.code != CONDITION_FAILED:
            raise
        return False
    return True
