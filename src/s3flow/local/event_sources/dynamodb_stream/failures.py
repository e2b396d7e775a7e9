"""What an invocation's failure means for a batch: the partial batch response it returned,
and the on-failure record Lambda sends to the destination for records it gives up on.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from s3flow.local.deployment import StreamMapping
from s3flow.local.event_sources.dynamodb_stream.reader import StreamRecord
from s3flow.local.lambda_.sandbox import Outcome

CONDITION_RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
CONDITION_RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


def _timestamp(moment: float, *, millis: bool) -> str:
    when = datetime.fromtimestamp(moment, UTC)
    if millis:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_record(
    mapping: StreamMapping,
    shard_id: str,
    records: Sequence[StreamRecord],
    *,
    condition: str,
    invoke_count: int,
    last: Outcome | None,
    now: float | None = None,
) -> dict[str, Any]:
    """The on-failure record Lambda sends for discarded stream records (metadata only)."""
    payload = last.payload if last is not None and isinstance(last.payload, dict) else {}
    record: dict[str, Any] = {
        "requestContext": {
            "requestId": str(payload.get("requestId") or uuid.uuid4()),
            "functionArn": mapping.function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
    }
    if last is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not last.ok:
            response["functionError"] = "Unhandled"
        record["responseContext"] = response
    record["version"] = "1.0"
    record["timestamp"] = _timestamp(time.time() if now is None else now, millis=True)
    record["DDBStreamBatchInfo"] = {
        "shardId": shard_id,
        "startSequenceNumber": records[0].sequence_number,
        "endSequenceNumber": records[-1].sequence_number,
        "approximateArrivalOfFirstRecord": _timestamp(records[0].arrived, millis=False),
        "approximateArrivalOfLastRecord": _timestamp(records[-1].arrived, millis=False),
        "batchSize": len(records),
        "streamArn": mapping.event_source_arn,
    }
    return record


def first_failure(payload: Any, records: Sequence[StreamRecord]) -> int | None:
    """Index of the first record to retry per a partial batch response (0: the whole batch);
    None if the response reports no failure."""
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if not failures:
        return None
    if not isinstance(failures, list):
        return 0  # not a list of failures: a malformed response fails the whole batch
    positions = {record.sequence_number: index for index, record in enumerate(records)}
    found = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in positions:
            return 0  # Lambda takes a malformed or unknown identifier as the whole batch failing
        found.append(positions[identifier])
    return min(found)
