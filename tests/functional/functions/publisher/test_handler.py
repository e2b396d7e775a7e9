"""The publisher handler on moto: stream batches in, events on a real bus (observed through a rule
to an SQS queue), partial batch responses out."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from s3flow import contract
from s3flow.functions.publisher import handler as publish_handler
from s3flow.functions.publisher import outbox
from s3flow.functions.shared.aws_api import ApiCallError, JsonApiClient
from s3flow.functions.shared.backoff import Backoff
from s3flow.functions.shared.dynamodb_json import to_dynamo
from s3flow.functions.shared.errors import ConfigurationError
from s3flow.testing.records_table import create_table_request
from support.functions import TABLE, FakeContext, Sleeps, emf_problems, stdout_documents
from support.stream_records import TRACE, bad_item, inserts, object_item, sequence, step_error, stream_record

from ..support import Aws

CONTEXT = FakeContext(function_name="s3-event-publisher-test")
NO_FAILURES = {"batchItemFailures": []}


def object_key(entry: dict[str, Any]) -> str:
    return json.loads(entry["Detail"]).get("objectKey") or json.loads(entry["Detail"])["requestId"]


@dataclass
class PutEventsCalls:
    """Every PutEvents call the publisher's client makes, optionally failing entries.

    A failing entry is not sent to moto; the response reports it with an ErrorCode at its position,
    as EventBridge reports a partial failure. ``refuse(call_number)`` true makes a whole call raise.
    """

    fail: Callable[[str, int], bool] = lambda key, call: False  # noqa: E731
    refuse: Callable[[int], bool] = lambda call: False  # noqa: E731
    entries: list[list[dict[str, Any]]] = field(default_factory=list)

    def install(self, client: JsonApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
        def real(operation: str, params: dict[str, Any]) -> dict[str, Any]:
            return type(client).call(client, operation, params)  # the class's, as recorders patch it

        def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
            if operation != "PutEvents":
                return real(operation, params)
            entries = list(params["Entries"])
            self.entries.append(entries)
            number = len(self.entries)
            if self.refuse(number):
                raise ApiCallError(operation, "ThrottlingException", "slow down", 400)
            failing = [self.fail(object_key(entry), number) for entry in entries]
            kept = [entry for entry, fails in zip(entries, failing, strict=True) if not fails]
            sent = iter(real(operation, {**params, "Entries": kept})["Entries"] if kept else [])
            results = [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"} if fails
                       else next(sent) for fails in failing]  # fmt: skip
            return {"FailedEntryCount": sum(failing), "Entries": results}

        monkeypatch.setattr(client, "call", call)

    def sizes(self) -> list[int]:
        return [len(entries) for entries in self.entries]


@pytest.fixture
def put_events(aws: Aws, monkeypatch: pytest.MonkeyPatch, sleeps: Sleeps) -> Iterator[PutEventsCalls]:
    """The publisher's environment (no table name: it must not need one) and its client's calls."""
    monkeypatch.delenv(contract.ENV_TABLE_NAME)
    monkeypatch.setattr(publish_handler, "Backoff", lambda: Backoff(sleep=sleeps))
    monkeypatch.setattr(publish_handler, "_published", outbox.RecentlyPublished())  # a fresh container
    publish_handler.publisher_dependencies.cache_clear()
    calls = PutEventsCalls()
    calls.install(publish_handler.publisher_dependencies().events, monkeypatch)
    yield calls
    publish_handler.publisher_dependencies.cache_clear()


def invoke(*records: dict[str, Any]) -> dict[str, Any]:
    return publish_handler.handler({"Records": list(records)}, CONTEXT)


def delivered_keys(aws: Aws) -> list[str]:
    return sorted(
        event["detail"].get("objectKey") or event["detail"]["requestId"] for event in aws.delivered_events()
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


@pytest.fixture
def failure_queue(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> str:
    url = aws.sqs.create_queue(QueueName="publisher-failures")["QueueUrl"]
    monkeypatch.setenv(contract.ENV_PUBLISHER_FAILURE_QUEUE_URL, url)
    publish_handler.publisher_dependencies.cache_clear()
    return url


def queued(aws: Aws, url: str) -> list[dict[str, Any]]:
    messages = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_an_entry_failing_with_accepted_ones_behind_it_is_kept_not_retried(
    aws, failure_queue, put_events
) -> None:
    put_events.fail = lambda key, call: key == "batch/file-4.csv"  # refused on every try

    response = invoke(*inserts(15))

    # A retry from file-4 would send 5..9 again: the batch is finished instead (10..14 too)
    # and file-4's entry itself waits in the failure queue for `s3flow redrive`.
    assert response == NO_FAILURES
    assert delivered_keys(aws) == sorted(f"batch/file-{i}.csv" for i in range(15) if i != 4)
    [message] = queued(aws, failure_queue)
    kept = message[contract.UNPUBLISHED_EVENT_MESSAGE]
    assert kept["sequenceNumber"] == sequence(4) and kept["errorCode"] == "InternalFailure"
    assert json.loads(kept["entry"]["Detail"])["objectKey"] == "batch/file-4.csv"
    assert kept["entry"]["EventBusName"] and kept["entry"]["TraceHeader"] == TRACE


def test_only_entries_failing_at_the_front_are_retried_by_lambda_as_before(
    aws, failure_queue, put_events
) -> None:
    put_events.fail = lambda key, call: key in {"batch/file-8.csv", "batch/file-9.csv"}

    response = invoke(*inserts(10))

    # Nothing was accepted behind file-8: Lambda's retry from it duplicates nothing.
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(8)}]}
    assert queued(aws, failure_queue) == []


def test_when_the_failure_queue_refuses_too_lambda_retries_the_batch(aws, put_events, monkeypatch) -> None:
    monkeypatch.setenv(contract.ENV_PUBLISHER_FAILURE_QUEUE_URL, "https://sqs.us-east-1.amazonaws.com/1/none")
    publish_handler.publisher_dependencies.cache_clear()
    put_events.install(publish_handler.publisher_dependencies().events, monkeypatch)
    put_events.fail = lambda key, call: key == "batch/file-4.csv"

    response = invoke(*inserts(10))  # file-4 would be kept, but the queue refuses it

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(4)}]}  # nothing lost


def queued_all(aws: Aws, url: str) -> list[dict[str, Any]]:
    """Every message in the queue (each received once: it stays invisible for the test's length)."""
    bodies: list[dict[str, Any]] = []
    while batch := queued(aws, url):
        bodies.extend(batch)
    return bodies


def kept_keys(bodies: list[dict[str, Any]]) -> list[str]:
    return sorted(object_key(body[contract.UNPUBLISHED_EVENT_MESSAGE]["entry"]) for body in bodies)


def big_inserts(count: int, detail_bytes: int) -> list[dict[str, Any]]:
    """Inserts whose entries are about ``detail_bytes`` each (a step's large report)."""
    report = {contract.STEPS_ATTRIBUTE: {"scan": {"report": "x" * detail_bytes}}}
    return [
        stream_record("INSERT", i, new={**object_item(f"batch/file-{i}.csv"), **report}) for i in range(count)
    ]


@dataclass
class SendMessageBatchCalls:
    """The publisher's SendMessageBatch calls; ``refuse(key, call)`` true makes SQS refuse that entry.

    A refused entry is not sent to moto; the response lists it under ``Failed`` with
    ``SenderFault`` false, as SQS reports an entry it could not take this time.
    """

    refuse: Callable[[str, int], bool] = lambda key, call: False  # noqa: E731
    entries: list[list[dict[str, Any]]] = field(default_factory=list)

    def install(self, client: JsonApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
        def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
            self.entries.append(list(params["Entries"]))
            number = len(self.entries)
            refused = [e for e in params["Entries"] if self.refuse(self.key(e), number)]
            sent = [e for e in params["Entries"] if e not in refused]
            response = type(client).call(client, operation, {**params, "Entries": sent}) if sent else {}
            failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"}
                      for e in refused]  # fmt: skip
            return {"Successful": response.get("Successful", []), "Failed": failed}

        monkeypatch.setattr(client, "call", call)

    @staticmethod
    def key(entry: dict[str, Any]) -> str:
        return object_key(json.loads(entry["MessageBody"])[contract.UNPUBLISHED_EVENT_MESSAGE]["entry"])

    def keys(self) -> list[list[str]]:
        return [[self.key(entry) for entry in call] for call in self.entries]


@pytest.fixture
def send_message_batch(
    failure_queue: str, put_events: PutEventsCalls, monkeypatch: pytest.MonkeyPatch
) -> SendMessageBatchCalls:
    calls = SendMessageBatchCalls()
    calls.install(publish_handler.publisher_dependencies().sqs(), monkeypatch)
    return calls


def test_kept_entries_go_to_the_queue_in_calls_within_sqss_size_and_count_limits(
    aws, failure_queue, put_events, send_message_batch
) -> None:
    # Entries of ~120 KB, two per PutEvents request; every other one refused on every try:
    # well over 1 MiB of kept entries, which one SendMessageBatch call cannot take.
    put_events.fail = lambda key, call: int(key.split("-")[1].split(".")[0]) % 2 == 0
    batch = big_inserts(20, 120_000)

    response = invoke(*batch)

    assert response == NO_FAILURES
    published = delivered_keys(aws)
    bodies = queued_all(aws, failure_queue)
    assert kept_keys(bodies) == sorted(f"batch/file-{i}.csv" for i in range(20) if f"batch/file-{i}.csv"
                                       not in published)  # fmt: skip
    assert sum(len(json.dumps(body)) for body in bodies) > 1_048_576
    assert len(send_message_batch.entries) > 1
    for call in send_message_batch.entries:
        assert len(call) <= 10
        assert sum(len(entry["MessageBody"].encode()) for entry in call) <= 1_048_576


def test_an_entry_the_queue_refuses_once_is_sent_again_alone(
    aws, failure_queue, put_events, send_message_batch, sleeps
) -> None:
    put_events.fail = lambda key, call: key in {"batch/file-4.csv", "batch/file-6.csv"}
    send_message_batch.refuse = lambda key, call: key == "batch/file-6.csv" and call == 1

    response = invoke(*inserts(15))

    assert response == NO_FAILURES
    assert send_message_batch.keys() == [["batch/file-4.csv", "batch/file-6.csv"], ["batch/file-6.csv"]]
    assert kept_keys(queued_all(aws, failure_queue)) == ["batch/file-4.csv", "batch/file-6.csv"]


def test_after_the_queue_took_some_kept_entries_a_retry_sends_and_keeps_nothing_twice(
    aws, failure_queue, put_events, send_message_batch
) -> None:
    # GIVEN file-4 and file-6 refused by EventBridge with accepted ones behind them, and the
    # queue taking file-4's entry but refusing file-6's on every try
    put_events.fail = lambda key, call: key in {"batch/file-4.csv", "batch/file-6.csv"}
    send_message_batch.refuse = lambda key, call: key == "batch/file-6.csv"
    batch = inserts(15)

    first = invoke(*batch)

    # THEN Lambda is told to retry from file-6, the one entry nowhere yet, not from file-4
    assert first == {"batchItemFailures": [{"itemIdentifier": sequence(6)}]}
    assert kept_keys(queued_all(aws, failure_queue)) == ["batch/file-4.csv"]
    # WHEN Lambda retries from file-6 and both services have recovered
    put_events.fail = lambda key, call: False
    send_message_batch.refuse = lambda key, call: False
    published_before = len(put_events.entries)

    second = invoke(*batch[6:])

    # THEN only file-6 is sent: the records behind it were published or kept the first time
    assert second == NO_FAILURES
    assert [object_key(entry) for call in put_events.entries[published_before:] for entry in call] == [
        "batch/file-6.csv"
    ]
    assert delivered_keys(aws) == sorted(f"batch/file-{i}.csv" for i in range(15) if i != 4)  # once each
    assert queued_all(aws, failure_queue) == []  # file-4's entry, received above, is the only one kept


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


def test_a_record_that_cannot_be_published_is_logged_counted_and_passed_over(aws, put_events, capsys) -> None:
    good = inserts(3)
    broken = json.loads(json.dumps(good[1]))
    del broken["dynamodb"]["NewImage"]

    response = invoke(good[0], broken, good[2])

    assert response == NO_FAILURES
    assert delivered_keys(aws) == ["batch/file-0.csv", "batch/file-2.csv"]
    lines, [document] = stdout_documents(capsys.readouterr().out)
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["sequenceNumber"] == sequence(1)
    assert error["keys"] == broken["dynamodb"]["Keys"]
    assert "without NewImage" in error["message"]
    assert document[contract.METRIC_UNPUBLISHABLE_RECORDS] == 1
    assert document[contract.METRIC_EVENTS_PUBLISHED] == 2


def test_one_valid_emf_document_per_invocation(aws, put_events, capsys, monkeypatch) -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace)

    invoke(*inserts(3), stream_record("REMOVE", 9, old=object_item("x")))

    lines, [document] = stdout_documents(capsys.readouterr().out)
    assert emf_problems(document) == []
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == contract.METRICS_NAMESPACE
    assert directive["Dimensions"] == [[contract.METRICS_DIMENSION_ENVIRONMENT]]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        contract.METRIC_EVENTS_PUBLISHED: "Count",
        contract.METRIC_UNPUBLISHABLE_RECORDS: "Count",
    }
    assert document[contract.METRIC_EVENTS_PUBLISHED] == 3
    assert document[contract.METRIC_UNPUBLISHABLE_RECORDS] == 0
    assert document["Environment"] == "test"
    assert document["functionName"] == "s3-event-publisher-test"
    assert document["traceId"] == "1-5759e988-bd862e3fe1be46a994272793"
    # A clean batch writes its EMF line only: the summary is a DEBUG line.
    assert [line for line in lines if line["message"] == "stream batch handled"] == []


def test_a_batch_with_failures_says_so_in_an_info_summary(aws, put_events, capsys) -> None:
    put_events.fail = lambda key, call: key == "batch/file-1.csv"  # past every retry

    response = invoke(*inserts(3))

    lines, _ = stdout_documents(capsys.readouterr().out)
    [summary] = [line for line in lines if line["message"] == "stream batch handled"]
    assert summary["level"] == "INFO"
    assert summary["summary"] == {"records": 3, "published": 2, "skipped": 0, "unpublishable": 0,
                                  "failed": 1, "retained": 0, "calls": 4}  # fmt: skip
    assert summary["requestId"] == CONTEXT.aws_request_id
    assert summary["batchItemFailures"] == response["batchItemFailures"] == [{"itemIdentifier": sequence(1)}]


def test_needs_no_table_and_makes_no_dynamodb_call(aws, put_events, api_calls) -> None:
    invoke(*inserts(2))

    assert {(call.service, call.operation) for call in api_calls.calls} == {("events", "PutEvents")}
    assert not hasattr(publish_handler.publisher_dependencies(), "dynamodb")


def test_missing_bus_fails_loudly_and_still_writes_metrics(aws, put_events, capsys, monkeypatch) -> None:
    monkeypatch.delenv(contract.ENV_EVENT_BUS_NAME)
    publish_handler.publisher_dependencies.cache_clear()

    with pytest.raises(ConfigurationError, match=contract.ENV_EVENT_BUS_NAME):
        invoke(*inserts(1))

    _, [document] = stdout_documents(capsys.readouterr().out)
    assert emf_problems(document) == []
    assert document[contract.METRIC_EVENTS_PUBLISHED] == 0


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


PUBLISHER_TRACE = "Root=1-6759e988-00000000000000000000000b;Parent=63995c3f42cd8ad9;Sampled=1"


def test_a_sampled_invocation_traces_each_putevents_call_under_publish_events(
    aws, put_events, daemon, monkeypatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", PUBLISHER_TRACE)
    put_events.fail = lambda key, call: key == "batch/file-11.csv"

    response = invoke(*inserts(12))

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(11)}]}
    publisher_trace = "1-6759e988-00000000000000000000000b"
    documents = [d for d in daemon.documents() if d["trace_id"] == publisher_trace]
    [publish] = [d for d in documents if d["name"] == "publish_events"]
    assert publish["trace_id"] == "1-6759e988-00000000000000000000000b"
    assert publish["parent_id"] == "63995c3f42cd8ad9"
    assert publish["fault"] is True
    calls = sorted((d for d in documents if d["name"] == "EventBridge"), key=lambda d: d["start_time"])
    assert [d["aws"]["operation"] for d in calls] == ["PutEvents", "PutEvents"]  # one per chunk
    assert {d["parent_id"] for d in calls} == {publish["id"]}
    assert "fault" not in calls[0] and calls[1]["fault"] is True
    assert "InternalFailure" in calls[1]["cause"]["exceptions"][0]["message"]
    # The events continue the processor's trace (the record's), not the publisher's.
    assert {entry["TraceHeader"] for entries in put_events.entries for entry in entries} == {TRACE}


def test_each_published_event_shows_in_its_objects_own_trace(aws, put_events, daemon) -> None:
    other = "Root=1-6759e988-bd862e3fe1be46a994272794;Parent=63995c3f42cd8ad8;Sampled=1"
    unsampled = "Root=1-6759e988-bd862e3fe1be46a994272795;Parent=63995c3f42cd8ad7;Sampled=0"
    items = [object_item("a"), object_item("b", trace=other), object_item("c", trace=unsampled)]
    put_events.fail = lambda key, call: key == "a" and call == 1  # a's entry goes out on the retry

    invoke(*[stream_record("INSERT", position, new=item) for position, item in enumerate(items)])

    documents = daemon.documents()
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        by_trace.setdefault(document["trace_id"], []).append(document)
    assert set(by_trace) == {"1-5759e988-bd862e3fe1be46a994272793", "1-6759e988-bd862e3fe1be46a994272794"}
    for root, parent in (("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8"),
                         ("1-6759e988-bd862e3fe1be46a994272794", "63995c3f42cd8ad8")):  # fmt: skip
        [publish] = [d for d in by_trace[root] if d["name"] == "publish_event"]
        [call] = [d for d in by_trace[root] if d["name"] == "EventBridge"]
        assert publish["parent_id"] == parent  # under the processor's function segment
        assert call["parent_id"] == publish["id"] and call["aws"]["operation"] == "PutEvents"
        assert publish["start_time"] <= call["start_time"] <= call["end_time"] <= publish["end_time"]
