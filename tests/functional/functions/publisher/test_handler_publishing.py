"""The publisher handler on moto: stream batches in, events on a real bus (observed through a rule
to an SQS queue), partial batch responses out. What goes out, in how many calls, what is retried
and what Lambda is told to retry."""

from __future__ import annotations

import json
import os

import boto3

from s3flow import contract
from s3flow.functions.publisher import handler as publish_handler
from s3flow.functions.publisher import outbox
from s3flow.functions.shared.dynamodb_json import to_dynamo
from s3flow.testing.records_table import create_table_request
from support.functions import TABLE, stdout_documents
from support.stream_records import bad_item, inserts, object_item, sequence, step_error, stream_record

from .handler_support import (
    CONTEXT,
    NO_FAILURES,
    delivered_keys,
    invoke,
)


def test_one_event_per_insert_exactly_as_the_processor_sent_it(aws, put_events) -> None:
    items = [object_item("uploads/a.txt"), object_item("uploads/b.txt"), bad_item()]

    response = invoke(*(stream_record("INSERT", n, new=item) for n, item in enumerate(items)))

    assert response == NO_FAILURES
    events = {event["detail"].get("objectKey", "bad"): event for event in aws.delivered_events()}
    assert sorted(events) == ["bad", "uploads/a.txt", "uploads/b.txt"]
    assert events["uploads/a.txt"]["detail-type"] == contract.DETAIL_TYPE_SUCCESS
    assert events["uploads/a.txt"]["source"] == contract.EVENT_SOURCE
    assert events["uploads/a.txt"]["detail"]["size"] == 1024
    assert events["bad"]["detail-type"] == contract.DETAIL_TYPE_ERROR
    assert put_events.sizes() == [3]


def test_entries_carry_each_records_own_trace_header(aws, put_events) -> None:
    other = "Root=1-6759e988-bd862e3fe1be46a994272794;Parent=63995c3f42cd8ad8;Sampled=1"
    items = [object_item("a"), object_item("b", trace=other), object_item("c", trace=None)]

    invoke(*(stream_record("INSERT", n, new=item) for n, item in enumerate(items)))

    [sent] = put_events.entries
    assert [entry.get("TraceHeader") for entry in sent] == [items[0]["xrayTraceId"], other, None]


def test_modify_publishes_only_a_status_change_and_remove_nothing(aws, put_events) -> None:
    retried, rewritten, failing = object_item("retried.txt"), object_item("same.txt"), object_item("x.txt")

    response = invoke(
        stream_record("MODIFY", 1, new=retried, old=step_error(retried)),
        stream_record("MODIFY", 2, new=rewritten, old={**rewritten, "processedAt": "earlier"}),
        stream_record("MODIFY", 3, new=step_error(failing), old=step_error(failing)),
        stream_record("REMOVE", 4, old=rewritten),
    )

    assert response == NO_FAILURES
    [event] = aws.delivered_events()
    assert event["detail"]["objectKey"] == "retried.txt"
    assert event["detail-type"] == contract.DETAIL_TYPE_SUCCESS
    assert put_events.sizes() == [1]


def test_a_batch_with_nothing_to_publish_makes_no_call(aws, put_events) -> None:
    item = object_item("gone.txt")

    assert invoke(stream_record("REMOVE", 1, old=item)) == NO_FAILURES
    assert publish_handler.handler({"Records": []}, CONTEXT) == NO_FAILURES
    assert put_events.entries == []


def test_our_code_sends_at_most_ten_entries_per_call(aws, put_events) -> None:
    response = invoke(*inserts(25))

    assert response == NO_FAILURES
    assert put_events.sizes() == [10, 10, 5]
    assert delivered_keys(aws) == sorted(f"batch/file-{i}.csv" for i in range(25))


def test_entries_failing_once_are_retried_and_the_batch_succeeds(aws, put_events, sleeps) -> None:
    put_events.fail = lambda key, call: key == "batch/file-3.csv" and call == 1

    response = invoke(*inserts(5))

    assert response == NO_FAILURES
    assert put_events.sizes() == [5, 1]
    assert len(sleeps.seconds) == 1
    assert delivered_keys(aws) == sorted(f"batch/file-{i}.csv" for i in range(5))


def test_a_retried_batch_skips_what_this_container_already_published(aws, put_events) -> None:
    put_events.fail = lambda key, call: key == "batch/file-4.csv" and call <= 4  # past every retry
    batch = inserts(10)

    first = invoke(*batch)
    # Lambda retries from the reported record: 4..9, of which 5..9 went out with the first try.
    second = invoke(*batch[4:])

    assert first == {"batchItemFailures": [{"itemIdentifier": sequence(4)}]}
    assert second == NO_FAILURES
    assert put_events.sizes()[-1] == 1  # only file-4 is sent again
    assert delivered_keys(aws) == sorted(f"batch/file-{i}.csv" for i in range(10))  # once each


def test_a_new_container_has_no_memory_and_publishes_the_retried_records_again(
    aws, put_events, monkeypatch
) -> None:
    put_events.fail = lambda key, call: key == "batch/file-4.csv" and call <= 4
    batch = inserts(6)
    invoke(*batch)
    monkeypatch.setattr(publish_handler, "_published", outbox.RecentlyPublished())

    invoke(*batch[4:])

    # The documented duplicate path: file-5 was accepted by the first container and is sent again.
    assert delivered_keys(aws).count("batch/file-5.csv") == 2


def test_entries_still_failing_report_the_earliest_failed_record(aws, put_events, capsys) -> None:
    failing = {"batch/file-4.csv", "batch/file-7.csv", "batch/file-12.csv"}
    put_events.fail = lambda key, call: key in failing

    response = invoke(*inserts(15))

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(4)}]}
    # The first chunk is retried (4 attempts in all); the second is never sent: Lambda resends it.
    assert put_events.sizes() == [10, 2, 2, 2]
    assert delivered_keys(aws) == sorted(f"batch/file-{i}.csv" for i in range(10) if i not in (4, 7))
    lines, [document] = stdout_documents(capsys.readouterr().out)
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert [line["key"] for line in errors] == [f"batch/file-{n}.csv" for n in (4, 7, *range(10, 15))]
    assert {line["sequenceNumber"] for line in errors} == {sequence(n) for n in (4, 7, *range(10, 15))}
    assert document[contract.METRIC_EVENTS_PUBLISHED] == 8


def test_a_refused_call_fails_its_chunk_and_stops_the_later_ones(aws, put_events) -> None:
    put_events.refuse = lambda call: call >= 2  # the second chunk's call and its retries

    response = invoke(*inserts(25))

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(10)}]}
    assert put_events.sizes() == [10, 10, 10, 10, 10]  # chunk 2: four attempts; chunk 3: never
    assert delivered_keys(aws) == sorted(f"batch/file-{i}.csv" for i in range(10))


def test_what_moto_streams_for_the_processors_writes(aws, put_events) -> None:
    """Records as DynamoDB's stream shows them: writes, rewrites with and without a new status, a delete."""
    # GIVEN a table with the stream the stack configures, and writes like the processor's
    dynamodb = aws.dynamodb
    stream = {"StreamEnabled": True, "StreamViewType": contract.STREAM_VIEW_TYPE}
    request = {**create_table_request(TABLE + "-streamed"), "StreamSpecification": stream}
    stream_arn = dynamodb.create_table(**request)["TableDescription"]["LatestStreamArn"]
    done, other = object_item("retried.txt"), object_item("other.txt")
    for item in (step_error(done), done, other, {**other, "processedAt": "later"}):
        dynamodb.put_item(TableName=request["TableName"], Item=to_dynamo(item))
    dynamodb.delete_item(
        TableName=request["TableName"], Key=to_dynamo({k: other[k] for k in ("requestId", "timestamp")})
    )
    # botocore's account-based endpoint (123456789012.streams-ddb...) is not one moto serves.
    streams = boto3.client("dynamodbstreams", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]  # fmt: skip
    records = json.loads(json.dumps(streams.get_records(ShardIterator=iterator)["Records"], default=str))
    assert [record["eventName"] for record in records] == ["INSERT", "MODIFY", "INSERT", "MODIFY", "REMOVE"]

    # WHEN the publisher gets them as one batch
    response = invoke(*({**record, "eventSourceARN": stream_arn} for record in records))

    # THEN the step error, its success and the other object's first write are announced, nothing else
    assert response == NO_FAILURES
    types = sorted((event["detail"]["objectKey"], event["detail-type"]) for event in aws.delivered_events())
    assert types == sorted(
        [
            ("other.txt", contract.DETAIL_TYPE_SUCCESS),
            ("retried.txt", contract.DETAIL_TYPE_ERROR),
            ("retried.txt", contract.DETAIL_TYPE_SUCCESS),
        ]
    )
