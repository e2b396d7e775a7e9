"""The outbox's contract with the publisher: what the processor leaves on the table's stream.

The publisher function announces INSERTs, and MODIFYs that change ``status``, each as
``entry_for`` of the new image. So the processor must put exactly one INSERT on the stream
per new record, nothing for a duplicate delivery, and a MODIFY only when a retried step
turns a step error into a different outcome. Read here from moto's DynamoDB Streams.
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from s3flow import contract
from s3flow.cli.time_range import query_time_range
from s3flow.functions.processor import processing
from s3flow.functions.processor.dependencies import dependencies
from s3flow.functions.processor.steps.registry import ObjectRef, register_step
from s3flow.functions.shared.dynamodb_json import from_dynamo
from s3flow.functions.shared.entries import detail_type, entry_for, fits
from s3flow.functions.shared.errors import RetryableProcessingError
from support.functions import BUS, TABLE, FakeContext, load_event

from ..support import refuse_calls

UNSAMPLED = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"


def new_images(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [from_dynamo(record["dynamodb"]["NewImage"]) for record in records]


def kinds(records: list[dict[str, Any]]) -> list[str]:
    return [record["eventName"] for record in records]


def test_the_stream_carries_old_and_new_images(aws) -> None:
    table = aws.dynamodb.describe_table(TableName=TABLE)["Table"]

    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": contract.STREAM_VIEW_TYPE,
    }
    assert contract.STREAM_VIEW_TYPE == "NEW_AND_OLD_IMAGES"


def test_each_new_record_is_one_insert_of_the_stored_item(aws, invoke) -> None:
    # GIVEN an event with good records, a bad record and a record from elsewhere
    invoke("s3_mixed_valid_invalid_other")

    # THEN one INSERT per stored item, whose new image is that item, and nothing else
    records = aws.stream_records()
    assert kinds(records) == ["INSERT"] * 3
    assert all("OldImage" not in record["dynamodb"] for record in records)
    stored = {item["requestId"]: item for item in aws.items()}
    images = {image["requestId"]: image for image in new_images(records)}
    assert images == stored
    # and each image makes an event the publisher can send
    for image in images.values():
        entry = entry_for(image, event_bus_name=BUS)
        assert fits(entry)
        assert entry["DetailType"] == detail_type(image)
    assert Counter(image["status"] for image in images.values()) == {
        contract.STATUS_SUCCESS: 2,
        contract.STATUS_ERROR: 1,
    }


def test_a_duplicate_delivery_adds_nothing_to_the_stream(aws, invoke) -> None:
    invoke("s3_put_five")
    first = aws.stream_records()

    invoke("s3_put_five", FakeContext(aws_request_id="redelivery"))

    assert kinds(first) == ["INSERT"] * 5
    assert aws.stream_records() == first


def malformed(field: str, value: Any) -> dict[str, Any]:
    """The sample record with ``field`` set to ``value`` (removed when ``value`` is None)."""
    raw = copy.deepcopy(load_event("s3_put_single")["Records"][0])
    raw.pop(field)
    return raw if value is None else {**raw, field: value}


class ScriptedClock(datetime):
    """``datetime`` whose ``now`` is the next of ``readings``: each invocation sees another time."""

    readings: list[datetime] = []

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return cls.readings.pop(0)


@pytest.mark.parametrize(
    "raw",
    [
        malformed("eventTime", None),
        malformed("eventTime", "yesterday"),
        malformed("eventTime", "2026-11-24T10:15:30"),  # no time zone
        {**malformed("eventTime", None), "eventName": "ObjectRemoved:Delete"},
        {"Records": "not a list"},
    ],
    ids=["no-event-time", "garbled-event-time", "naive-event-time", "no-time-wrong-kind", "not-an-event"],
)
def test_a_malformed_record_delivered_twice_at_different_times_is_one_insert(
    aws, invoke, monkeypatch, raw: dict[str, Any]
) -> None:
    event = raw if "Records" in raw else {"Records": [raw]}
    ScriptedClock.readings = [datetime(2026, 11, 24, 10, tzinfo=UTC), datetime(2026, 11, 25, 9, tzinfo=UTC)]
    monkeypatch.setattr(processing, "datetime", ScriptedClock)

    first = invoke(copy.deepcopy(event))
    second = invoke(copy.deepcopy(event), FakeContext(aws_request_id="redelivery"))

    assert (first["errors"], second["errors"], second["duplicates"]) == (1, 0, 1)
    [record] = aws.stream_records()
    assert record["eventName"] == "INSERT"
    [item] = aws.items()
    assert new_images([record]) == [item]
    assert item["processedAt"] == "2026-11-24T10:00:00.000Z"  # the first delivery's
    # on the time index at the epoch: out of real windows, listed by the epoch's day
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    [listed] = query_time_range(aws.dynamodb, TABLE, epoch, epoch + timedelta(days=1), shards=4)
    assert (listed["requestId"], listed["timestamp"]) == (item["requestId"], "1970-01-01T00:00:00.000Z")


def test_a_retry_after_a_transient_failure_inserts_only_what_was_missing(aws, invoke, monkeypatch) -> None:
    outage = [True]
    refuse_calls(
        monkeypatch,
        dependencies().dynamodb,
        "ThrottlingException",
        when=lambda params: outage[0] and "file-4.csv" in str(params["Item"]),
    )
    with pytest.raises(RetryableProcessingError):
        invoke("s3_put_five")
    assert kinds(aws.stream_records()) == ["INSERT"] * 4
    outage[0] = False

    invoke("s3_put_five")

    records = aws.stream_records()
    assert kinds(records) == ["INSERT"] * 5
    keys = [image["objectKey"] for image in new_images(records)]
    assert sorted(keys) == [f"batch/file-{i}.csv" for i in range(5)]
    assert keys[-1] == "batch/file-4.csv"


def test_the_new_image_carries_the_processor_trace_header(aws, invoke, monkeypatch) -> None:
    # The publisher sends it as the event's TraceHeader: the event continues this trace.
    monkeypatch.setenv("_X_AMZN_TRACE_ID", UNSAMPLED)

    invoke("s3_put_single")

    [image] = new_images(aws.stream_records())
    assert image["xrayTraceId"] == UNSAMPLED


def test_only_a_status_change_ever_modifies_a_record(aws, invoke, uploads) -> None:
    # GIVEN a step that fails twice for one object, then succeeds
    failures = [2]

    def flaky(obj: ObjectRef) -> dict[str, Any]:
        if obj.key == "flaky.txt" and failures[0]:
            failures[0] -= 1
            raise TimeoutError("scanner down")
        return {"ok": True}

    register_step(flaky)
    event = {"Records": [uploads.put("steady.txt", b"s"), uploads.put("flaky.txt", b"f")]}

    # WHEN the event is delivered four times
    for attempt in range(4):
        invoke(event, FakeContext(aws_request_id=f"attempt-{attempt}"))

    # THEN two INSERTs, then one MODIFY from the step error to the success: nothing for the
    # failed retry or the duplicates, and no MODIFY the publisher would have to skip
    records = aws.stream_records()
    assert kinds(records) == ["INSERT", "INSERT", "MODIFY"]
    modify = records[-1]["dynamodb"]
    old, new = from_dynamo(modify["OldImage"]), from_dynamo(modify["NewImage"])
    assert old["objectKey"] == new["objectKey"] == "flaky.txt"
    assert (old["status"], new["status"]) == (contract.STATUS_ERROR, contract.STATUS_SUCCESS)
    assert old["awsRequestId"] == "attempt-0" and new["awsRequestId"] == "attempt-2"
