"""``LocalPipeline(state=DIR)`` across a restart: what was recorded survives (object versions
with their ids and ETags, records, stream positions, queue messages, log events, traces), what
was in flight resumes, and nothing is processed or published twice.

One pipeline runs, is stopped with an upload waiting for a retry of its processor and a
record its publisher could not publish yet, and a second one starts on the same folder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from s3flow import contract
from s3flow.local.credentials import emulator_client
from s3flow.local.event_sources.dynamodb_stream import MotoStreamReader
from s3flow.local.pipeline import FlowEvent, FlowKind, LocalPipeline
from s3flow.local.state import StateError

FOREVER = (3600.0,)  # a retry that will not come before the stop


def _wait_for(condition: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _seen(flows: list[FlowEvent], kind: FlowKind, key: str) -> Callable[[], bool]:
    return lambda: any(flow.kind == kind and flow.key == key for flow in flows)


class View:
    """What a user can see of the running pipeline through the AWS APIs."""

    def __init__(self, pipeline: LocalPipeline) -> None:
        self.pipeline = pipeline
        self.outputs = pipeline.deployment.outputs

    def client(self, service: str) -> Any:
        return emulator_client(service, endpoint_url=self.pipeline.endpoint_url, region=self.pipeline.region)

    def versions(self) -> list[tuple[str, str, str]]:
        listed = self.client("s3").list_object_versions(Bucket=self.outputs["S3BucketName"])
        return sorted((v["Key"], v["VersionId"], v["ETag"]) for v in listed.get("Versions", []))

    def records(self) -> dict[str, dict[str, Any]]:
        items = self.client("dynamodb").scan(TableName=self.outputs["DynamoDBTableName"])["Items"]
        return {f"{item['objectKey']['S']}@{item['versionId']['S']}": item for item in items}

    def event_keys(self) -> list[str]:
        events = self.client("logs").filter_log_events(logGroupName=self.outputs["EventLogGroupName"])[
            "events"
        ]
        return sorted(json.loads(event["message"])["detail"]["objectKey"] for event in events)

    def queued(self) -> str:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.outputs["FailureQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return str(attributes["ApproximateNumberOfMessages"])

    def traces(self) -> set[str]:
        now = datetime.now(UTC)
        summaries = self.client("xray").get_trace_summaries(
            StartTime=now - timedelta(hours=1), EndTime=now + timedelta(hours=1)
        )
        return {summary["Id"] for summary in summaries["TraceSummaries"]}

    def stream_records(self) -> int:
        (mapping,) = self.pipeline.deployment.stream_mappings
        reader = MotoStreamReader(self.pipeline.deployment.account, self.pipeline.region)
        (shard,) = reader.shards(mapping.event_source_arn)
        return len(reader.read(mapping.event_source_arn, shard, None, 10_000))


def test_a_restart_on_the_same_state_loses_nothing_and_reprocesses_nothing(synthesized: Path, tmp_path: Path):
    state = tmp_path / "state"
    # GIVEN a pipeline keeping its state in a folder
    flows: list[FlowEvent] = []
    first = LocalPipeline(
        synthesized,
        port=0,
        concurrency=1,
        on_flow=flows.append,
        state=state,
        retry_delays=FOREVER,
        stream_retry_delays=FOREVER,
    )
    first.start()
    try:
        view = View(first)
        processor, publisher = view.outputs["LambdaFunctionName"], view.outputs["PublisherFunctionName"]
        s3 = view.client("s3")
        bucket = view.outputs["S3BucketName"]
        # WHEN objects flow through it, one key in two versions, and a message waits in a queue
        s3.put_object(Bucket=bucket, Key="a.txt", Body=b"first")
        s3.put_object(Bucket=bucket, Key="a.txt", Body=b"second")
        s3.put_object(Bucket=bucket, Key="b.txt", Body=b"bee")
        assert first.wait_idle(60)
        view.client("sqs").send_message(
            QueueUrl=view.outputs["FailureQueueUrl"], MessageBody='{"kept": true}'
        )
        # AND c.txt is recorded but its publisher cannot publish it yet (a retry far away)
        first.override_environment(publisher, {contract.ENV_EVENT_BUS_NAME: "no-such-bus"})
        s3.put_object(Bucket=bucket, Key="c.txt", Body=b"sea")
        assert _wait_for(_seen(flows, FlowKind.RECORDED, "c.txt")), flows
        # AND d.txt's processing failed and waits for its retry
        first.override_environment(processor, {contract.ENV_TABLE_NAME: "no-such-table"})
        s3.put_object(Bucket=bucket, Key="d.txt", Body=b"dee")
        assert _wait_for(_seen(flows, FlowKind.RETRYING, "d.txt")), flows
        before = {
            "versions": view.versions(),
            "records": view.records(),
            "events": view.event_keys(),
            "queued": view.queued(),
            "traces": view.traces(),
            "stream": view.stream_records(),
        }
    finally:
        first.stop()

    assert before["events"] == ["a.txt", "a.txt", "b.txt"]
    assert len(before["records"]) == 4 and before["stream"] == 4  # a.txt twice, b.txt, c.txt: not d.txt
    assert {key for _, key, _ in first.unfinished.objects} == {"d.txt"}
    assert {key for _, key, _ in first.unfinished.unpublished} == {"c.txt"}
    assert first.saved is not None and first.saved.pending == 1

    # WHEN a pipeline starts again on the same folder
    flows.clear()
    second = LocalPipeline(synthesized, port=0, concurrency=1, on_flow=flows.append, state=state)
    second.start()
    try:
        assert second.wait_idle(60)
        view = View(second)

        # THEN every object version is there with its version id and ETag, and its body
        assert view.versions() == before["versions"]
        (old,) = [version for key, version, _ in before["versions"] if key == "a.txt"][:1]
        body = view.client("s3").get_object(Bucket=view.outputs["S3BucketName"], Key="a.txt", VersionId=old)
        assert body["Body"].read() in (b"first", b"second")
        # AND the records, queue messages and traces from before are there
        records = view.records()
        assert {name: records[name] for name in before["records"]} == before["records"]
        assert view.queued() == before["queued"] == "1"
        assert before["traces"] <= view.traces()
        # AND what was in flight finished: d.txt processed, c.txt and d.txt published, once each
        assert sorted(name.split("@")[0] for name in records) == ["a.txt", "a.txt", "b.txt", "c.txt", "d.txt"]
        assert view.event_keys() == ["a.txt", "a.txt", "b.txt", "c.txt", "d.txt"]
        assert view.stream_records() == before["stream"] + 1  # d.txt's record only
        # AND nothing of what was done before was done again
        assert {flow.key for flow in flows if flow.kind != FlowKind.LOGGED} == {"c.txt", "d.txt"}, flows
        published = [flow.key for flow in flows if flow.kind == FlowKind.PUBLISHED]
        assert sorted(published) == ["c.txt", "d.txt"]
        assert [flow.key for flow in flows if flow.kind == FlowKind.RECEIVED] == ["d.txt"]
    finally:
        second.stop()
    assert second.unfinished.objects == () and second.unfinished.unpublished == ()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{damaged", "is not valid JSON"),
        (
            json.dumps(
                {"format": "s3flow-local-state", "version": 1, "stack": "TapStackprod", "region": "us-east-1"}
            ),
            "holds the state of TapStackprod in us-east-1, not TapStackdev",
        ),
    ],
)
def test_a_state_that_cannot_be_restored_stops_the_start_and_is_left_as_it_was(
    synthesized: Path, tmp_path: Path, document: str, message: str
):
    (tmp_path / "state.json").write_text(document)
    pipeline = LocalPipeline(synthesized, port=0, state=tmp_path)

    with pytest.raises(StateError, match=message):
        pipeline.start()

    pipeline.stop()
    assert (tmp_path / "state.json").read_text() == document
    assert pipeline.server.endpoint_url.endswith(":0")  # the emulator never started
