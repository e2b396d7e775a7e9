"""Each read/write command against a stack whose outputs name moto resources."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from s3flow import contract
from s3flow.cli.main import app
from s3flow.processor.time_index import format_timestamp, time_bucket


def test_put_uploads_files_and_folders_and_prints_keys_with_version_ids(fake_stack, runner, tmp_path: Path):
    # GIVEN a file with an awkward name and a folder with a nested file
    single = tmp_path / "my file+x.txt"
    single.write_text("one")
    folder = tmp_path / "batch"
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "c.txt").write_text("nested")
    (folder / "résumé.txt").write_text("unicode")

    # WHEN they are put under a prefix
    result = runner.invoke(app, ["put", str(single), str(folder), "--prefix", "in/", *fake_stack.args])

    # THEN each object exists under its key, and the printed version id is the one S3 assigned
    assert result.exit_code == 0, result.output
    s3 = fake_stack.client("s3")
    versions = s3.list_object_versions(Bucket=fake_stack.outputs["S3BucketName"], Prefix="in/")["Versions"]
    by_key = {v["Key"]: v["VersionId"] for v in versions}
    assert set(by_key) == {"in/my file+x.txt", "in/a/b/c.txt", "in/résumé.txt"}
    for key, version in by_key.items():
        assert key in result.output
        assert version in result.output


def test_put_large_file_goes_multipart_and_reports_its_version(fake_stack, runner, tmp_path: Path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (9 * 1024 * 1024))  # above the 8 MiB multipart threshold

    result = runner.invoke(app, ["put", str(big), *fake_stack.args])

    assert result.exit_code == 0, result.output
    head = fake_stack.client("s3").head_object(Bucket=fake_stack.outputs["S3BucketName"], Key="big.bin")
    assert head["ContentLength"] == 9 * 1024 * 1024
    assert head["ETag"].strip('"').endswith("-2")  # two parts: 5 MiB + 4 MiB
    assert head["VersionId"] in result.output
    assert "2 parts" in result.output


def _put_record(fake_stack, key: str, when: datetime, status: str = contract.STATUS_SUCCESS) -> str:
    digest = uuid.uuid4().hex
    item = {
        contract.TABLE_PARTITION_KEY: digest,
        contract.TABLE_SORT_KEY: format_timestamp(when),
        contract.TIME_INDEX_PARTITION_KEY: time_bucket(digest, when, contract.DEFAULT_TIME_INDEX_SHARDS),
        "status": status,
        "objectKey": key,
        "versionId": f"v-{digest[:8]}",
        "size": 3,
        "eventState": "PUBLISHED",
    }
    fake_stack.client("dynamodb").put_item(
        TableName=fake_stack.outputs["DynamoDBTableName"], Item={k: _attr(v) for k, v in item.items()}
    )
    return digest


def _attr(value: object) -> dict[str, str]:
    return {"N": str(value)} if isinstance(value, int) else {"S": str(value)}


def test_records_returns_the_time_range_through_the_index_and_filters_by_status(fake_stack, runner):
    now = datetime.now(UTC)
    tag = uuid.uuid4().hex[:6]
    _put_record(fake_stack, f"recent-ok-{tag}.txt", now - timedelta(minutes=5))
    _put_record(fake_stack, f"recent-bad-{tag}.txt", now - timedelta(minutes=4), contract.STATUS_ERROR)
    _put_record(fake_stack, f"old-{tag}.txt", now - timedelta(days=3))

    recent = runner.invoke(app, ["records", "--since", "-1h", *fake_stack.args])
    errors = runner.invoke(app, ["records", "--since", "-1h", "--status", "error", *fake_stack.args])
    wide = runner.invoke(app, ["records", "--since", "-4d", "--until", "-2d", *fake_stack.args])

    assert recent.exit_code == 0, recent.output
    assert f"recent-ok-{tag}.txt" in recent.output and f"recent-bad-{tag}.txt" in recent.output
    assert f"old-{tag}.txt" not in recent.output
    assert f"recent-bad-{tag}.txt" in errors.output and f"recent-ok-{tag}.txt" not in errors.output
    assert f"old-{tag}.txt" in wide.output and f"recent-ok-{tag}.txt" not in wide.output


def test_events_lists_what_the_log_group_received(fake_stack, runner):
    logs = fake_stack.client("logs")
    group, stream = fake_stack.outputs["EventLogGroupName"], f"s-{uuid.uuid4().hex[:6]}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    detail = {"status": "SUCCESS", "objectKey": "routed é+.txt", "versionId": "v123", "size": 5}
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": json.dumps(detail)}],
    )

    result = runner.invoke(app, ["events", "--since", "-10m", *fake_stack.args])

    assert result.exit_code == 0, result.output
    assert "routed é+.txt" in result.output
    assert "SUCCESS" in result.output


def _segment(trace_id: str, start: float) -> dict:
    return {
        "trace_id": trace_id,
        "id": uuid.uuid4().hex[:16],
        "name": "s3flow-processor",
        "start_time": start,
        "end_time": start + 0.2,
        "annotations": {"requestId": "abc123"},
        "subsegments": [
            {"id": uuid.uuid4().hex[:16], "name": "process_object", "start_time": start + 0.01,
             "end_time": start + 0.15, "annotations": {"objectKey": "k.txt"}},
            {"id": uuid.uuid4().hex[:16], "name": "DynamoDB.PutItem", "start_time": start + 0.02,
             "end_time": start + 0.05, "namespace": "aws"},
            {"id": uuid.uuid4().hex[:16], "name": "EventBridge.PutEvents", "start_time": start + 0.06,
             "end_time": start + 0.1, "namespace": "aws"},
        ],
    }  # fmt: skip


def test_traces_lists_and_shows_a_timeline_with_annotations(fake_stack, runner):
    start = time.time() - 30
    trace_id = f"1-{int(start):08x}-{uuid.uuid4().hex[:24]}"
    fake_stack.client("xray").put_trace_segments(
        TraceSegmentDocuments=[json.dumps(_segment(trace_id, start))]
    )

    listing = runner.invoke(app, ["traces", "--since", "-10m", *fake_stack.args])
    timeline = runner.invoke(app, ["traces", trace_id, *fake_stack.args])

    assert listing.exit_code == 0, listing.output
    assert trace_id in listing.output
    assert timeline.exit_code == 0, timeline.output
    for name in ("process_object", "DynamoDB.PutItem", "EventBridge.PutEvents", "requestId=abc123"):
        assert name in timeline.output
    assert "dynamodb" in timeline.output and "eventbridge" in timeline.output


def test_traces_unknown_id_is_one_line(fake_stack, runner):
    result = runner.invoke(app, ["traces", "1-00000000-000000000000000000000000", *fake_stack.args])
    assert result.exit_code == 1
    assert "no trace 1-00000000" in result.output
    assert "Traceback" not in result.output


def _drain(sqs, url: str) -> None:
    """Empty the queue (PurgeQueue is limited to once a minute)."""
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages"
    ):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def failure_message(fake_stack):
    sqs, url = fake_stack.client("sqs"), fake_stack.outputs["FailureQueueUrl"]
    _drain(sqs, url)
    body = {
        "version": "1.0",
        "requestContext": {"requestId": "r1", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": {
            "Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "broken+file%C3%A9.txt"}}}]
        },
        "responsePayload": {"errorMessage": "boom", "errorType": "RuntimeError"},
    }
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    yield body
    _drain(sqs, url)


def test_failures_shows_messages_without_consuming_them(fake_stack, runner, failure_message):
    first = runner.invoke(app, ["failures", *fake_stack.args])
    second = runner.invoke(app, ["failures", *fake_stack.args])

    assert first.exit_code == 0, first.output
    for result in (first, second):
        assert "broken fileé.txt" in result.output  # the key, decoded
        assert "RetriesExhausted" in result.output and "boom" in result.output
        assert "failure queue (1)" in result.output


def test_redrive_dry_run_reports_and_keeps_the_messages(fake_stack, runner, failure_message):
    result = runner.invoke(app, ["redrive", "--dry-run", *fake_stack.args])

    assert result.exit_code == 0, result.output
    assert "would re-invoke 1" in result.output
    attrs = fake_stack.client("sqs").get_queue_attributes(
        QueueUrl=fake_stack.outputs["FailureQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "1"


def test_redrive_keeps_the_message_when_the_invoke_is_refused(fake_stack, runner, failure_message):
    # GIVEN a stack whose function does not exist here, so Lambda refuses the invoke
    result = runner.invoke(app, ["redrive", *fake_stack.args])

    # THEN the command fails in one line and the message stays in the queue
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "not accepted" in result.output
    sqs = fake_stack.client("sqs")
    peek = sqs.receive_message(
        QueueUrl=fake_stack.outputs["FailureQueueUrl"], VisibilityTimeout=0, WaitTimeSeconds=0
    )
    assert peek.get("Messages"), "the failed message was deleted although its invoke failed"
