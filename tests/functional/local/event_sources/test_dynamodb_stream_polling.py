"""DynamoDB stream -> Lambda event source mapping, locally: polling, filters applied, batching,
retries, partial batch responses, bisection, the failure destination and stopping.
"""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import CancelledError

import boto3

from s3flow.local.event_sources.dynamodb_stream import (
    CONDITION_RECORD_AGE_EXCEEDED,
    CONDITION_RETRIES_EXHAUSTED,
)

from .stream_support import FUNCTION, FUNCTION_ARN, NEW_IMAGE_FILTER, REGION, TABLE, Stream, keys


def test_records_are_delivered_in_order_in_batches_of_at_most_the_batch_size(stream: Stream):
    stream.put(*"abcdefg")
    poller = stream.poller(batch_size=3)

    stream.wait(poller)
    stream.put("h")
    stream.wait(poller)

    calls = stream.calls()
    assert [key for call in calls for key in call["keys"]] == list("abcdefgh")
    assert all(1 <= len(call["keys"]) <= 3 for call in calls)
    seqs = [int(seq) for call in calls for seq in call["seqs"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 8
    first = calls[0]["first"]
    assert first["eventSource"] == "aws:dynamodb" and first["eventVersion"] == "1.0"
    assert first["eventName"] == "INSERT" and first["awsRegion"] == REGION
    assert first["eventSourceARN"] == stream.arn and first["eventID"]
    dynamodb = first["dynamodb"]
    assert dynamodb["Keys"] == {"pk": {"S": "a"}}
    assert dynamodb["NewImage"] == {"pk": {"S": "a"}, "status": {"S": "NEW"}}
    assert dynamodb["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(dynamodb["ApproximateCreationDateTime"], int) and dynamodb["SizeBytes"] > 0
    assert stream.failures() == []


def test_latest_starts_after_the_records_already_in_the_stream(stream: Stream):
    stream.put("old")
    poller = stream.poller(starting_position="LATEST")

    stream.put("new")
    stream.wait(poller)

    assert keys(stream.calls()) == [["new"]]


def test_records_the_filter_criteria_do_not_match_are_never_delivered(stream: Stream):
    stream.put("a", "b")
    stream.dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    stream.put("b", status="DONE")  # MODIFY
    poller = stream.poller(filter_patterns=(NEW_IMAGE_FILTER,), batch_size=10)

    stream.wait(poller)

    names = [name for call in stream.calls() for name in call["names"]]
    assert names == ["INSERT", "INSERT", "MODIFY"]


def test_a_batch_that_fails_n_times_is_delivered_n_plus_one_times_then_processing_goes_on(
    stream: Stream,
):
    stream.put("a", "b")
    poller = stream.poller({"FAIL_TIMES": "2"}, batch_size=2, maximum_retry_attempts=5)

    stream.wait(poller)
    stream.put("c")
    stream.wait(poller)

    assert keys(stream.calls()) == [["a", "b"], ["a", "b"], ["a", "b"], ["c"]]
    assert stream.failures() == []


def test_a_reported_item_failure_retries_from_that_record_only(stream: Stream):
    stream.put("a", "b", "c", "d")
    poller = stream.poller(
        {"FAIL_TIMES": "1", "REPORT_KEY": "c"}, batch_size=4, report_batch_item_failures=True
    )

    stream.wait(poller)

    assert keys(stream.calls()) == [["a", "b", "c", "d"], ["c", "d"]]


def test_a_reported_failure_is_ignored_without_report_batch_item_failures(stream: Stream):
    stream.put("a", "b")
    poller = stream.poller({"FAIL_TIMES": "1", "REPORT_KEY": "b"}, batch_size=2)

    stream.wait(poller)

    assert keys(stream.calls()) == [["a", "b"]]


def test_exhausted_retries_send_one_batch_description_to_the_destination_and_go_on(stream: Stream):
    stream.put("a", "bad")
    poller = stream.poller({"FAIL_KEY": "bad"}, batch_size=2, maximum_retry_attempts=2)

    stream.wait(poller)
    stream.put("c")
    stream.wait(poller)

    calls = stream.calls()
    assert keys(calls) == [["a", "bad"]] * 3 + [["c"]]
    (failure,) = stream.failures()
    assert failure["version"] == "1.0" and failure["timestamp"].endswith("Z")
    context = failure["requestContext"]
    assert context["condition"] == CONDITION_RETRIES_EXHAUSTED
    assert context["functionArn"] == FUNCTION_ARN
    assert context["approximateInvokeCount"] == 3 and context["requestId"]
    assert failure["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    info = failure["DDBStreamBatchInfo"]
    described = boto3.client(
        "dynamodbstreams", endpoint_url=stream.server.endpoint_url, region_name=REGION
    ).describe_stream(StreamArn=stream.arn)["StreamDescription"]
    assert info["shardId"] == described["Shards"][0]["ShardId"]
    assert info["startSequenceNumber"] == calls[0]["seqs"][0]
    assert info["endSequenceNumber"] == calls[0]["seqs"][1]
    assert info["batchSize"] == 2 and info["streamArn"] == stream.arn
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert info["approximateArrivalOfLastRecord"].endswith("Z")


def test_bisection_isolates_the_failing_record(stream: Stream):
    stream.put("a", "b", "c", "bad")
    poller = stream.poller(
        {"FAIL_KEY": "bad"}, batch_size=4, maximum_retry_attempts=1, bisect_batch_on_function_error=True
    )

    stream.wait(poller)

    # [a b c bad] fails -> [a b] ok, [c bad] fails -> [c] ok, [bad] fails, retried once, given up.
    assert keys(stream.calls()) == [
        ["a", "b", "c", "bad"],
        ["a", "b"],
        ["c", "bad"],
        ["c"],
        ["bad"],
        ["bad"],
    ]
    (failure,) = stream.failures()
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failure["DDBStreamBatchInfo"]["startSequenceNumber"] == stream.calls()[-1]["seqs"][0]


def test_records_older_than_the_maximum_age_are_not_delivered_but_described(stream: Stream):
    stream.put("a")
    poller = stream.poller(maximum_record_age_seconds=60, clock=lambda: time.time() + 3600)

    stream.wait(poller)

    assert stream.calls() == []
    (failure,) = stream.failures()
    assert failure["requestContext"]["condition"] == CONDITION_RECORD_AGE_EXCEEDED
    assert failure["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in failure


def test_a_poller_whose_queued_invocation_is_dropped_by_the_stopping_runtime_stops(stream: Stream):
    # GIVEN a poller whose invocation waits behind a slow one in the function's only sandbox
    poller = stream.poller({"SLEEP": "2"}, start=False)
    (runtime,) = stream.runtimes

    def slow_invocation() -> None:
        with contextlib.suppress(CancelledError):  # if the stop comes before it started
            runtime.invoke(FUNCTION, {"Records": []})

    slow = threading.Thread(target=slow_invocation, daemon=True)
    slow.start()
    while runtime.idle():
        time.sleep(0.01)
    stream.put("a")
    poller.start()
    while poller.idle():
        time.sleep(0.01)

    # WHEN the runtime stops first (the queued invocation is dropped)
    runtime.stop()

    # THEN the poller is told, and stops without delivering or discarding anything
    poller.stop(timeout=20)
    assert not poller.running
    assert stream.failures() == []
