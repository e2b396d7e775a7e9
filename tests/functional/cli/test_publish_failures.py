"""`failures` and `redrive` on the publisher's failure queue: stream batches, read back and republished."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from s3flow import contract
from s3flow.cli import publish_failures, queries
from s3flow.cli.main import app
from s3flow.cli.target import Target
from s3flow.testing.faults.proxy import EventBridgeOutage


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def routed_keys(target: Target) -> list[str]:
    return [str(event.detail.get("objectKey")) for event in queries.fetch_events(target)]


def test_a_batch_given_up_during_an_outage_is_shown_then_republished_once(local, runner):
    target = Target("TapStackdev", local.endpoint_url, "us-east-1")
    outage = EventBridgeOutage()
    outage.install(local.pipeline)
    try:
        # GIVEN an object recorded while EventBridge refuses every PutEvents
        local.client("s3").put_object(Bucket=local.outputs["S3BucketName"], Key="outage.txt", Body=b"x")
        assert wait_until(lambda: queries.failure_count(target, publish_failures.QUEUE_OUTPUT) == 1)
        local.settle()

        # WHEN the failures are listed
        listed = runner.invoke(app, ["failures", *local.args])
    finally:
        outage.clear()

    # THEN the batch shows in the publisher's table, and its event went nowhere
    assert listed.exit_code == 0, listed.output
    assert "publisher failure queue (1)" in listed.output
    assert "RetryAttemptsExhausted" in listed.output
    assert "outage.txt" not in routed_keys(target)

    # WHEN it is redriven with EventBridge back
    redriven = runner.invoke(app, ["redrive", *local.args])
    local.settle()

    # THEN its record is published exactly once and the queue is empty
    assert redriven.exit_code == 0, redriven.output
    assert "republished 1 event batch(es)" in redriven.output
    assert wait_until(lambda: "outage.txt" in routed_keys(target))
    assert routed_keys(target).count("outage.txt") == 1
    assert queries.failure_count(target, publish_failures.QUEUE_OUTPUT) == 0


def test_a_batch_whose_records_left_the_stream_is_kept_and_the_command_fails(local, runner):
    target = Target("TapStackdev", local.endpoint_url, "us-east-1")
    url = local.outputs["PublisherFailureQueueUrl"]
    gone = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
        "DDBStreamBatchInfo": {
            "shardId": "shardId-00000000000000000000-00000000",
            "startSequenceNumber": "1100000000017454423009",
            "endSequenceNumber": "1100000000017454423009",
            "batchSize": 1,
            "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/gone/stream/2026-01-01T00:00:00.000",
        },
    }
    local.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(gone))

    result = runner.invoke(app, ["redrive", *local.args])

    assert result.exit_code == 1, result.output
    assert "1 no longer in the stream (kept in the queue)" in result.output
    assert queries.failure_count(target, publish_failures.QUEUE_OUTPUT) == 1
    local.client("sqs").purge_queue(QueueUrl=url)  # the module's pipeline is shared


def test_an_entry_the_publisher_kept_is_shown_and_sent_as_it_was_built(local, runner):
    target = Target("TapStackdev", local.endpoint_url, "us-east-1")
    detail = {"requestId": "kept-1", "status": "SUCCESS", "objectKey": "kept.txt", "versionId": "v1"}
    entry = {
        "Source": contract.EVENT_SOURCE,
        "DetailType": contract.DETAIL_TYPE_SUCCESS,
        "Detail": json.dumps(detail),
        "EventBusName": local.outputs["EventBusName"],
    }
    kept = {"eventID": "e1", "sequenceNumber": "1100000000017454423042", "errorCode": "InternalFailure",
            "keys": {}, "entry": entry}  # fmt: skip
    url = local.outputs["PublisherFailureQueueUrl"]
    local.client("sqs").send_message(
        QueueUrl=url, MessageBody=json.dumps({contract.UNPUBLISHED_EVENT_MESSAGE: kept})
    )

    listed = runner.invoke(app, ["failures", *local.args])
    redriven = runner.invoke(app, ["redrive", *local.args])
    local.settle()

    assert "EntryRefused: InternalFailure" in listed.output, listed.output
    assert redriven.exit_code == 0, redriven.output
    assert "republished 1 event batch(es)" in redriven.output
    assert wait_until(lambda: "kept.txt" in routed_keys(target))
    assert routed_keys(target).count("kept.txt") == 1
    assert queries.failure_count(target, publish_failures.QUEUE_OUTPUT) == 0
