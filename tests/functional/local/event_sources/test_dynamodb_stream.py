"""DynamoDB stream -> Lambda event source mapping, locally: provisioning, filters applied,
batching, retries, partial batch responses, bisection, the failure destination, and the
pipeline waiting for a stream's backlog.

The function below runs in the local runtime's sandboxes (which import this module by
name). It appends what it got to a file and fails on purpose as its environment says.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from s3flow.local.cloudformation import TemplateError, UnsupportedResourceError, provision_template
from s3flow.local.deployment import AsyncInvokeConfig, Deployment, FunctionSpec, StreamMapping
from s3flow.local.event_sources.dynamodb_stream import (
    CONDITION_RECORD_AGE_EXCEEDED,
    CONDITION_RETRIES_EXHAUSTED,
    MappingListener,
    MotoStreamReader,
    StreamPoller,
    StreamPollers,
    StreamRecord,
)
from s3flow.local.lambda_.destinations import QueueSender
from s3flow.local.lambda_.runtime import LambdaRuntime
from s3flow.local.lambda_.sandbox import Outcome
from s3flow.local.pipeline import FlowEvent, FlowKind, LocalPipeline, _StreamReporter
from s3flow.local.server import LocalServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
TABLE = "records"
QUEUE = "stream-failures"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}"
FUNCTION = "fn-stream"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"


# -- the function, run inside the sandboxes ----------------------------------------------


def handle(event: dict[str, Any], context: Any) -> Any:
    """Appends the batch's keys and sequence numbers; then fails as FAIL_* says.

    SLEEP=s: first sleep s seconds. FAIL_TIMES=n: the first n invocations fail.
    FAIL_KEY=k: a batch holding key k fails.
    REPORT_KEY=k (with FAIL_TIMES): report the record of key k as failed instead of raising.
    """
    time.sleep(float(os.environ.get("SLEEP", "0")))
    records = event["Records"]
    path = Path(os.environ["RECORD_FILE"])
    with path.open("a", encoding="utf-8") as out:
        out.write(
            json.dumps(
                {
                    "keys": [r["dynamodb"]["Keys"]["pk"]["S"] for r in records],
                    "seqs": [r["dynamodb"]["SequenceNumber"] for r in records],
                    "names": [r["eventName"] for r in records],
                    "first": records[0],
                }
            )
            + "\n"
        )
    invocations = len(path.read_text(encoding="utf-8").splitlines())
    failing_now = invocations <= int(os.environ.get("FAIL_TIMES", "0"))
    report = os.environ.get("REPORT_KEY")
    if report and failing_now:
        (failed,) = [r for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == report]
        return {"batchItemFailures": [{"itemIdentifier": failed["dynamodb"]["SequenceNumber"]}]}
    if failing_now:
        raise RuntimeError(f"failing on purpose ({invocations})")
    bad = os.environ.get("FAIL_KEY")
    if bad and any(r["dynamodb"]["Keys"]["pk"]["S"] == bad for r in records):
        raise ValueError(f"cannot take {bad}")
    return {"batchItemFailures": []}


# -- fixtures ------------------------------------------------------------------------------


class Stream:
    """A table with a stream on the module's emulator, and the function's record of calls."""

    def __init__(self, server: LocalServer, record_file: Path) -> None:
        self.server = server
        self.record_file = record_file
        self.dynamodb = boto3.client("dynamodb", endpoint_url=server.endpoint_url, region_name=REGION)
        self.sqs = boto3.client("sqs", endpoint_url=server.endpoint_url, region_name=REGION)
        table = self.dynamodb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        self.arn: str = table["LatestStreamArn"]
        self.queue_url = self.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        self.runtimes: list[LambdaRuntime] = []
        self.pollers: list[StreamPoller] = []

    def put(self, *keys: str, status: str = "NEW") -> None:
        for key in keys:
            self.dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": key}, "status": {"S": status}})

    def poller(
        self, environment: dict[str, str] | None = None, *, start: bool = True, **settings: Any
    ) -> StreamPoller:
        spec = FunctionSpec(
            logical_id="Fn",
            name=FUNCTION,
            arn=FUNCTION_ARN,
            handler=f"{__name__}.handle",
            runtime="python3.13",
            timeout_seconds=30,
            memory_mb=128,
            environment={"RECORD_FILE": str(self.record_file), **(environment or {})},
            tracing_active=False,
            async_config=AsyncInvokeConfig(),
        )
        deployment = Deployment(stack_name="Test", region=REGION, account=ACCOUNT)
        deployment.functions = {FUNCTION: spec}
        clock = settings.pop("clock", time.time)
        reader = settings.pop("reader", None) or MotoStreamReader(ACCOUNT, REGION)
        runtime = LambdaRuntime(deployment, endpoint_url=self.server.endpoint_url, concurrency=1)
        runtime.start()
        self.runtimes.append(runtime)
        mapping = StreamMapping(
            logical_id="Mapping",
            uuid="uuid-1",
            function_arn=FUNCTION_ARN,
            event_source_arn=self.arn,
            starting_position=settings.pop("starting_position", "TRIM_HORIZON"),
            on_failure_arn=QUEUE_ARN,
            **settings,
        )
        poller = StreamPoller(
            mapping,
            invoke=runtime.invoke,
            reader=reader,
            send_to_queue=QueueSender(self.server.endpoint_url),
            retry_delays=(0.02,),
            poll_interval=0.02,
            clock=clock,
        )
        self.pollers.append(poller)
        if start:
            poller.start()
        return poller

    def wait(self, poller: StreamPoller | StreamPollers, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not poller.idle():
            assert time.monotonic() < deadline, "the poller did not catch up with the stream"
            time.sleep(0.02)

    def calls(self) -> list[dict[str, Any]]:
        if not self.record_file.exists():
            return []
        return [json.loads(line) for line in self.record_file.read_text(encoding="utf-8").splitlines()]

    def failures(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    def close(self) -> None:
        for poller in self.pollers:
            poller.request_stop()
        for runtime in self.runtimes:
            runtime.stop()
        for poller in self.pollers:
            poller.stop()


@pytest.fixture
def stream(server: LocalServer, tmp_path: Path) -> Iterator[Stream]:
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    made = Stream(server, tmp_path / "calls.jsonl")
    yield made
    made.close()


def keys(calls: list[dict[str, Any]]) -> list[list[str]]:
    return [call["keys"] for call in calls]


# What the stack's mapping says: a record with a new image (INSERT and MODIFY; not REMOVE).
NEW_IMAGE_FILTER = '{"dynamodb":{"NewImage":{"pk":{"S":[{"exists":true}]}}}}'


# -- provisioning ----------------------------------------------------------------------------


def mapping_template(source: Any, **properties: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": TABLE,
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "BillingMode": "PAY_PER_REQUEST",
                    "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                },
            },
            "Failures": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": QUEUE}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": FUNCTION,
                    "Handler": f"{__name__}.handle",
                    "Runtime": "python3.13",
                    "Code": {"ZipFile": "unused locally"},
                    "Role": "arn:aws:iam::123456789012:role/unused",
                    "Environment": {"Variables": properties.pop("Variables", {})},
                },
            },
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Fn"},
                    "EventSourceArn": source,
                    "StartingPosition": "TRIM_HORIZON",
                    **properties,
                },
            },
        },
        "Outputs": {"StreamArn": {"Value": {"Fn::GetAtt": ["Table", "StreamArn"]}}},
    }


def test_a_mapping_on_a_table_stream_is_resolved_into_the_deployment(server: LocalServer):
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    template = mapping_template(
        {"Fn::GetAtt": ["Table", "StreamArn"]},
        BatchSize=7,
        MaximumRetryAttempts=3,
        BisectBatchOnFunctionError=True,
        MaximumRecordAgeInSeconds=120,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        FilterCriteria={"Filters": [{"Pattern": NEW_IMAGE_FILTER}]},
        DestinationConfig={"OnFailure": {"Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}},
    )

    deployment = provision_template(template, "Streams", endpoint_url=server.endpoint_url)

    stream_arn = boto3.client(
        "dynamodb", endpoint_url=server.endpoint_url, region_name=REGION
    ).describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    assert deployment.outputs["StreamArn"] == stream_arn
    (mapping,) = deployment.stream_mappings
    assert mapping == StreamMapping(
        logical_id="Mapping",
        uuid=deployment.physical_ids["Mapping"],
        function_arn=FUNCTION_ARN,
        event_source_arn=stream_arn,
        starting_position="TRIM_HORIZON",
        batch_size=7,
        maximum_retry_attempts=3,
        bisect_batch_on_function_error=True,
        maximum_record_age_seconds=120,
        report_batch_item_failures=True,
        filter_patterns=(NEW_IMAGE_FILTER,),
        on_failure_arn=QUEUE_ARN,
        enabled=True,
    )


@pytest.mark.parametrize(
    "source",
    [{"Fn::GetAtt": ["Failures", "Arn"]}, "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"],
)
def test_a_mapping_on_another_source_is_refused_before_anything_is_created(server: LocalServer, source):
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()

    with pytest.raises(UnsupportedResourceError, match="is not a DynamoDB stream") as raised:
        provision_template(mapping_template(source), "Streams", endpoint_url=server.endpoint_url)

    assert raised.value.logical_id == "Mapping"
    tables = boto3.client("dynamodb", endpoint_url=server.endpoint_url, region_name=REGION).list_tables()
    assert tables["TableNames"] == []


@pytest.mark.parametrize(
    ("properties", "named"),
    [
        ({"ParallelizationFactor": 2}, "ParallelizationFactor"),
        ({"FilterCriteria": {"Filters": [{"Pattern": '{"dynamodb":{"Keys":[{"nope":"IN"}]}}'}]}}, "nope"),
        ({"FilterCriteria": {"Filters": [{"Pattern": '{"eventName":["INSERT"]}'}]}}, "only on the dynamodb"),
        ({"FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}}, "Invalid JSON"),
    ],
)
def test_settings_the_poller_cannot_honour_are_refused(server: LocalServer, properties, named):
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    template = mapping_template({"Fn::GetAtt": ["Table", "StreamArn"]}, **properties)

    with pytest.raises(UnsupportedResourceError, match=named):
        provision_template(template, "Streams", endpoint_url=server.endpoint_url)


# -- polling ----------------------------------------------------------------------------------


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


# -- each record taken once ------------------------------------------------------------------


class ScriptedFunction:
    """The mapped function as a seeded script (no sandbox): each invocation succeeds, fails,
    reports one record as failed, or is never answered (the runtime's wait for it runs out,
    as when a sandbox cannot start). Notes every record handed again after a success took it."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.taken: list[str] = []
        self.taken_again: list[str] = []

    def __call__(self, function: str, event: dict[str, Any]) -> Outcome:
        seqs = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
        self.taken_again += [seq for seq in seqs if seq in self.taken]
        roll = self.random.random()
        if roll < 0.15:
            raise TimeoutError("the invocation was never answered")
        if roll < 0.3:
            return Outcome(False, {"errorType": "RuntimeError", "errorMessage": "on purpose"}, 0, 0)
        failed = self.random.randrange(len(seqs)) if roll < 0.55 else len(seqs)
        self.taken += seqs[:failed]
        failures = [{"itemIdentifier": seq} for seq in seqs[failed : failed + 1]]
        return Outcome(True, {"batchItemFailures": failures}, 0, 0)


class SettledRecords(MappingListener):
    """The sequence numbers the poller reports as taken, and as given up on."""

    def __init__(self) -> None:
        self.taken: list[str] = []
        self.given_up: list[str] = []

    def delivered(self, mapping: StreamMapping, records: Sequence[dict[str, Any]]) -> None:
        self.taken += [record["dynamodb"]["SequenceNumber"] for record in records]

    def discarded(
        self, mapping: StreamMapping, records: Sequence[dict[str, Any]], condition: str, detail: str
    ) -> None:
        self.given_up += [record["dynamodb"]["SequenceNumber"] for record in records]


def poll_as_the_poller_thread_does(poller: StreamPoller) -> None:
    with contextlib.suppress(TimeoutError):  # _run logs it and polls again
        poller.poll_once()


@pytest.mark.parametrize("seed", range(6))
def test_no_record_is_handed_again_once_an_invocation_took_it(stream: Stream, seed: int):
    # Lambda checkpoints what a successful invocation took and never delivers it again; a
    # retry starts at the first record not taken
    # (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html).
    script = random.Random(seed)
    function = ScriptedFunction(seed)
    settled = SettledRecords()
    mapping = StreamMapping(
        logical_id="Mapping",
        uuid="uuid-1",
        function_arn=FUNCTION_ARN,
        event_source_arn=stream.arn,
        starting_position="TRIM_HORIZON",
        batch_size=script.randint(1, 6),
        maximum_retry_attempts=script.choice([-1, 3]),
        bisect_batch_on_function_error=script.random() < 0.5,
        report_batch_item_failures=True,
    )
    poller = StreamPoller(
        mapping,
        invoke=function,
        reader=MotoStreamReader(ACCOUNT, REGION),
        send_to_queue=lambda queue, message: None,
        retry_delays=(0.0,),
        listener=settled,
    )
    written = 0
    for _ in range(25):
        count = script.randint(0, 6)
        stream.put(*(f"k{written + n}" for n in range(count)))
        written += count
        for _ in range(script.randint(0, 3)):
            poll_as_the_poller_thread_does(poller)
    for _ in range(10_000):
        if poller.idle():
            break
        poll_as_the_poller_thread_does(poller)

    in_stream = MotoStreamReader(ACCOUNT, REGION).read(stream.arn, "", None, written + 1)
    assert len(in_stream) == written
    assert function.taken_again == []
    assert settled.taken == function.taken
    assert sorted(settled.taken + settled.given_up, key=int) == [r.sequence_number for r in in_stream]


# -- the batching window --------------------------------------------------------------------------


class FrozenClock:
    """The poller's clock, moved only by the test: a window ends when the test says so."""

    def __init__(self) -> None:
        self.now = time.time()  # before any record the test writes arrives

    def __call__(self) -> float:
        return self.now

    def pass_window(self, seconds: float) -> None:
        """Past the window of every record written so far."""
        self.now = time.time() + seconds


class WatchedReader(MotoStreamReader):
    """Counts the records the poller has read, so a test can act once they are read."""

    def __init__(self) -> None:
        super().__init__(ACCOUNT, REGION)
        self.count = 0
        self.changed = threading.Condition()

    def read(self, stream_arn: str, shard_id: str, after: int | None, limit: int) -> list[StreamRecord]:
        records = super().read(stream_arn, shard_id, after, limit)
        with self.changed:
            self.count += len(records)
            self.changed.notify_all()
        return records

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.count >= count, timeout=30), f"{self.count} read"


def wait_for_calls(stream: Stream, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while len(stream.calls()) < count:
        assert time.monotonic() < deadline, f"{len(stream.calls())} invocations, not {count}"
        time.sleep(0.02)
    return stream.calls()


def test_records_written_within_the_window_reach_the_function_in_one_invocation(stream: Stream):
    clock, reader = FrozenClock(), WatchedReader()
    poller = stream.poller(maximum_batching_window_seconds=1, clock=clock, reader=reader)

    stream.put("a")
    reader.wait_for(1)  # "a" is read: its window is open
    stream.put("b", "c")
    reader.wait_for(3)
    assert stream.calls() == []  # the window is still open and the batch not full
    clock.pass_window(1)
    stream.wait(poller)

    assert keys(stream.calls()) == [["a", "b", "c"]]


def test_without_a_window_each_record_goes_at_once(stream: Stream):
    # The frozen clock would hold any window open: with 0 there is none to wait for.
    poller = stream.poller(maximum_batching_window_seconds=0, clock=FrozenClock())

    stream.put("a")
    stream.wait(poller)
    stream.put("b")
    stream.wait(poller)

    assert keys(stream.calls()) == [["a"], ["b"]]


def test_a_full_batch_and_the_retry_of_a_failed_one_do_not_wait_for_the_window(stream: Stream):
    clock = FrozenClock()
    stream.put("a", "b", "c")
    poller = stream.poller(
        {"FAIL_TIMES": "1", "REPORT_KEY": "b"},
        batch_size=2,
        report_batch_item_failures=True,
        maximum_batching_window_seconds=300,
        clock=clock,
    )

    # [a, b] fills a batch; b alone is retried; only "c", short of a batch, waits for its window.
    assert keys(wait_for_calls(stream, 2)) == [["a", "b"], ["b"]]
    assert not poller.idle()
    clock.pass_window(300)
    stream.wait(poller)
    assert keys(stream.calls()) == [["a", "b"], ["b"], ["c"]]
    assert stream.failures() == []


def test_stopping_during_a_window_returns_at_once_and_leaves_the_records_unread(stream: Stream):
    reader = WatchedReader()
    poller = stream.poller(maximum_batching_window_seconds=300, clock=FrozenClock(), reader=reader)
    stream.put("a")
    reader.wait_for(1)

    poller.stop(timeout=5)  # the window has 300 s to go

    assert not poller.running
    assert stream.calls() == [] and stream.failures() == []
    assert not poller.idle()  # not checkpointed: the next poller delivers "a"


def test_a_mapping_batching_window_is_resolved(server: LocalServer):
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    template = mapping_template({"Fn::GetAtt": ["Table", "StreamArn"]}, MaximumBatchingWindowInSeconds=5)

    deployment = provision_template(template, "Streams", endpoint_url=server.endpoint_url)

    (mapping,) = deployment.stream_mappings
    assert mapping.maximum_batching_window_seconds == 5


@pytest.mark.parametrize("window", [301, -1, 1.5, "soon"])
def test_a_batching_window_lambda_rejects_fails_provisioning(server: LocalServer, window: Any):
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    template = mapping_template({"Fn::GetAtt": ["Table", "StreamArn"]}, MaximumBatchingWindowInSeconds=window)

    with pytest.raises(TemplateError, match=re.escape(f"Mapping: MaximumBatchingWindowInSeconds {window!r}")):
        provision_template(template, "Streams", endpoint_url=server.endpoint_url)


# -- the pipeline ------------------------------------------------------------------------------


def test_stream_records_are_reported_as_flows_of_their_object():
    flows: list[FlowEvent] = []
    reporter = _StreamReporter(flows.append, lambda arn: arn.rsplit(":", 1)[-1])
    mapping = StreamMapping("M", "u", FUNCTION_ARN, "arn:stream", "TRIM_HORIZON")
    image = {"bucketName": {"S": "in"}, "objectKey": {"S": "a b.txt"}, "versionId": {"S": "v1"}}
    inserted = {"eventName": "INSERT", "dynamodb": {"NewImage": image, "SequenceNumber": "7"}}
    removed = {"eventName": "REMOVE", "dynamodb": {"OldImage": image, "SequenceNumber": "8"}}

    reporter.delivered(mapping, [inserted])
    reporter.discarded(mapping, [removed], CONDITION_RETRIES_EXHAUSTED, "RetryAttemptsExhausted after 3")

    assert [(f.kind, f.bucket, f.key, f.version_id) for f in flows] == [
        (FlowKind.PUBLISHED, "in", "a b.txt", "v1"),
        (FlowKind.PUBLISH_FAILED, "in", "a b.txt", "v1"),
    ]
    assert flows[0].detail == f"INSERT 7 via {FUNCTION}" and flows[0].payload == inserted
    assert flows[1].detail == "RetryAttemptsExhausted after 3" and str(flows[1].kind) == "publish_failed"


def test_the_pipeline_polls_provisioned_mappings_and_waits_for_the_backlog(tmp_path: Path):
    record_file = tmp_path / "calls.jsonl"
    template = mapping_template(
        {"Fn::GetAtt": ["Table", "StreamArn"]},
        BatchSize=2,
        Variables={"RECORD_FILE": str(record_file)},
    )
    (tmp_path / "Streams.template.json").write_text(json.dumps(template), encoding="utf-8")
    flows: list[FlowEvent] = []
    pipeline = LocalPipeline(
        tmp_path, "Streams", port=0, on_flow=flows.append, stream_retry_delays=(0.02,), concurrency=1
    )
    with pipeline:
        dynamodb = boto3.client("dynamodb", endpoint_url=pipeline.endpoint_url, region_name=REGION)
        for key in "abcde":
            item = {"pk": {"S": key}, "bucketName": {"S": "in"}, "objectKey": {"S": f"{key}.txt"}}
            dynamodb.put_item(TableName=TABLE, Item=item)

        assert pipeline.wait_idle(60)

        delivered = [json.loads(line)["keys"] for line in record_file.read_text().splitlines()]
    assert [key for batch in delivered for key in batch] == list("abcde")
    published = [(flow.bucket, flow.key) for flow in flows if flow.kind is FlowKind.PUBLISHED]
    assert published == [("in", f"{key}.txt") for key in "abcde"]
