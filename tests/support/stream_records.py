"""Items as the processor writes them and DynamoDB stream records as Lambda delivers them to the
publisher, for the publisher's tests in both tiers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from s3flow import contract
from s3flow.functions.processor import items
from s3flow.functions.processor.records import InvalidRecord, ObjectRecord, error_digest
from s3flow.functions.shared.dynamodb_json import to_dynamo

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
WHEN = datetime(2026, 11, 24, 10, 15, 30, 123000, tzinfo=UTC)
STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/s3-processor-records-test/stream/2026-11-25T09:00:00.000"
)


def invocation(trace: str | None = TRACE) -> items.Invocation:
    return items.Invocation(
        function_name="s3-object-processor-test",
        function_version="$LATEST",
        aws_request_id="req-1",
        xray_trace_id=trace,
        environment="test",
    )


def object_item(key: str, *, size: int = 1024, trace: str | None = TRACE) -> dict[str, Any]:
    record = ObjectRecord(
        bucket="uploads-test",
        key=key,
        version_id="096fKKXTRTtl3on89fVO.nfljtsv6qko",
        size=size,
        etag="d41d8cd98f00b204e9800998ecf8427e",
        sequencer="0055AED6DCD90281E5",
        event_time=WHEN,
        event_name="ObjectCreated:Put",
        region="us-east-1",
    )
    return items.object_item(record, invocation(trace), shards=4, processed_at=WHEN)


def bad_item(message: str = "record has no s3.object.key") -> dict[str, Any]:
    record = InvalidRecord(message, excerpt="{}", error_id=error_digest(message), event_time=WHEN,
                           event_name="ObjectCreated:Put")  # fmt: skip
    return items.error_item(record, invocation(), shards=4, processed_at=WHEN)


def step_error(item: dict[str, Any]) -> dict[str, Any]:
    return items.step_error_item(item, step="thumbnail", message="boom", error_type="ValueError")


def sequence(n: int) -> str:
    return str(400000000000000000000 + n)


def stream_record(
    event_name: str, n: int, *, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A DynamoDB stream record exactly as Lambda delivers it (JSON round trip included)."""
    source = new or old or {}
    keys = {
        name: source[name]
        for name in (contract.TABLE_PARTITION_KEY, contract.TABLE_SORT_KEY)
        if name in source
    }
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": 1795597530.0,
        "Keys": to_dynamo(keys),
        "SequenceNumber": sequence(n),
        "SizeBytes": 512,
        "StreamViewType": contract.STREAM_VIEW_TYPE,
    }
    if new is not None:
        body["NewImage"] = to_dynamo(new)
    if old is not None:
        body["OldImage"] = to_dynamo(old)
    raw = {
        "eventID": f"c4ca4238a0b923820dcc509a6f75849{n}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": body,
        "eventSourceARN": STREAM_ARN,
    }
    return json.loads(json.dumps(raw))


def inserts(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        stream_record("INSERT", start + i, new=object_item(f"batch/file-{start + i}.csv"))
        for i in range(count)
    ]
