"""The DynamoDB items the processor writes, built from parsed records; no I/O.

One item per object version (``requestId`` = object id) and one per bad record
(``requestId`` = ``error#<digest of the raw record>``), so a redelivered record maps to
the same key and the conditional write in ``store`` finds it. The item is also the event:
the publisher function announces what the table's stream shows as new (``outbox``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from s3flow import contract
from s3flow.functions.processor.records import InvalidRecord, ObjectRecord
from s3flow.functions.processor.time_index import format_timestamp, time_bucket

ERROR_ID_PREFIX = "error#"
ERROR_MESSAGE_LIMIT = 1000
# The sort key of a bad record that carries no usable eventTime. It must come from the record,
# like its id: any clock reading (the processing time) would give each redelivery a new key,
# so the conditional write would let a second error item (and a second event) through. The
# epoch cannot pass for a real event time and keeps these items out of every real
# ``records --since`` window instead of placing them at an invented one; they are still
# announced (their error event carries ``processedAt``), and
# ``s3flow records --since 1970-01-01 --until 1970-01-02 --status ERROR`` lists them.
TIMELESS_ERROR_TIME = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Invocation:
    """What the processor knows about the current Lambda invocation."""

    function_name: str
    function_version: str
    aws_request_id: str
    xray_trace_id: str | None
    environment: str

    @classmethod
    def from_context(cls, context: Any, *, trace_header: str | None, environment: str) -> Invocation:
        return cls(
            function_name=str(getattr(context, "function_name", None) or "unknown"),
            function_version=str(getattr(context, "function_version", None) or "$LATEST"),
            aws_request_id=str(getattr(context, "aws_request_id", None) or "unknown"),
            xray_trace_id=trace_header,
            environment=environment,
        )


def _common(invocation: Invocation, processed_at: datetime) -> dict[str, Any]:
    common = {
        "functionName": invocation.function_name,
        "functionVersion": invocation.function_version,
        "awsRequestId": invocation.aws_request_id,
        "environment": invocation.environment,
        "processedAt": format_timestamp(processed_at),
    }
    if invocation.xray_trace_id:
        common["xrayTraceId"] = invocation.xray_trace_id
    return common


def object_item(
    record: ObjectRecord, invocation: Invocation, *, shards: int, processed_at: datetime
) -> dict[str, Any]:
    digest = record.object_id
    item: dict[str, Any] = {
        contract.TABLE_PARTITION_KEY: digest,
        contract.TABLE_SORT_KEY: format_timestamp(record.event_time),
        contract.TIME_INDEX_PARTITION_KEY: time_bucket(digest, record.event_time, shards),
        "status": contract.STATUS_SUCCESS,
        "bucketName": record.bucket,
        "objectKey": record.key,
        "size": record.size,
        "eventName": record.event_name,
        "eventTime": format_timestamp(record.event_time),
        **_common(invocation, processed_at),
    }
    optional = {
        "versionId": record.version_id,
        "eTag": record.etag,
        "sequencer": record.sequencer,
        "awsRegion": record.region,
    }
    item.update({name: value for name, value in optional.items() if value is not None})
    return item


def error_item(
    record: InvalidRecord, invocation: Invocation, *, shards: int, processed_at: datetime
) -> dict[str, Any]:
    # Both key parts come from the record, never the clock: a redelivery finds the same item.
    when = record.event_time or TIMELESS_ERROR_TIME
    item: dict[str, Any] = {
        contract.TABLE_PARTITION_KEY: ERROR_ID_PREFIX + record.error_id,
        contract.TABLE_SORT_KEY: format_timestamp(when),
        contract.TIME_INDEX_PARTITION_KEY: time_bucket(record.error_id, when, shards),
        "status": contract.STATUS_ERROR,
        "errorMessage": record.message[:ERROR_MESSAGE_LIMIT],
        "recordExcerpt": record.excerpt,
        **_common(invocation, processed_at),
    }
    if record.event_name:
        item["eventName"] = record.event_name
    if record.event_time:
        item["eventTime"] = format_timestamp(record.event_time)
    return item


def item_key(item: dict[str, Any]) -> tuple[str, str]:
    return item[contract.TABLE_PARTITION_KEY], item[contract.TABLE_SORT_KEY]


FAILED_STEP = "failedStep"


def with_step_fields(item: dict[str, Any], fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The item with each step's fields under ``steps.<name>`` (steps that returned nothing omitted)."""
    kept = {name: value for name, value in fields.items() if value}
    base = {name: value for name, value in item.items() if name not in _STEP_OUTCOME}
    return {**base, contract.STEPS_ATTRIBUTE: kept} if kept else base


def step_error_item(item: dict[str, Any], *, step: str, message: str, error_type: str) -> dict[str, Any]:
    """The object's own item (same key: one record per object) turned into an error naming the step.

    A later delivery of the object retries the steps; their success replaces this item.
    """
    base = {name: value for name, value in item.items() if name not in _STEP_OUTCOME}
    return {
        **base,
        "status": contract.STATUS_ERROR,
        "errorMessage": message[:ERROR_MESSAGE_LIMIT],
        "errorType": error_type,
        FAILED_STEP: step,
    }


def is_step_error(item: dict[str, Any]) -> bool:
    return item.get("status") == contract.STATUS_ERROR and FAILED_STEP in item


# Attributes a step outcome sets; cleared before another outcome is applied.
_STEP_OUTCOME = {contract.STEPS_ATTRIBUTE, FAILED_STEP, "errorMessage", "errorType"}
