"""Each command against the real local pipeline, reading everything from its stack outputs."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from s3flow import contract
from s3flow.cli.main import app
from s3flow.functions.processor.time_index import format_timestamp, time_bucket
from s3flow.functions.shared.observability.trace_header import trace_root


def _records_for(local, key: str) -> list[dict]:
    from s3flow.cli import queries
    from s3flow.cli.target import resolve_target

    target = resolve_target(endpoint_url=local.endpoint_url)
    now = datetime.now(UTC)
    return [
        r for r in queries.fetch_records(target, now - timedelta(hours=1), now) if r.get("objectKey") == key
    ]


def test_put_uploads_files_and_folders_under_their_keys_with_version_ids(local, runner, tmp_path: Path):
    # GIVEN a file with spaces and a plus sign, and a folder with nested and unicode names
    tag = uuid.uuid4().hex[:6]
    single = tmp_path / f"my file+{tag}.txt"
    single.write_text("one")
    folder = tmp_path / "batch"
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "c.txt").write_text("nested")
    (folder / "résumé 東京.txt").write_text("unicode")

    # WHEN they are put under a prefix
    result = runner.invoke(app, ["put", str(single), str(folder), "--prefix", f"in-{tag}/", *local.args])

    # THEN each object exists under its key, and the printed version id is the one S3 assigned
    assert result.exit_code == 0, result.output
    bucket = local.outputs["S3BucketName"]
    versions = local.client("s3").list_object_versions(Bucket=bucket, Prefix=f"in-{tag}/")["Versions"]
    by_key = {v["Key"]: v["VersionId"] for v in versions}
    assert set(by_key) == {f"in-{tag}/my file+{tag}.txt", f"in-{tag}/a/b/c.txt", f"in-{tag}/résumé 東京.txt"}
    for key, version in by_key.items():
        assert key in result.output
        assert version in result.output


def test_put_large_file_goes_multipart_and_reports_its_version(local, runner, tmp_path: Path):
    big = tmp_path / f"big-{uuid.uuid4().hex[:6]}.bin"
    big.write_bytes(b"x" * (9 * 1024 * 1024))  # above the 8 MiB multipart threshold

    result = runner.invoke(app, ["put", str(big), *local.args])

    assert result.exit_code == 0, result.output
    head = local.client("s3").head_object(Bucket=local.outputs["S3BucketName"], Key=big.name)
    assert head["ContentLength"] == 9 * 1024 * 1024
    assert head["ETag"].strip('"').endswith("-2")  # two parts: 5 MiB + 4 MiB
    assert head["VersionId"] in result.output
    assert "2 parts" in result.output


def test_an_uploaded_object_shows_in_records_events_and_traces(local, runner, tmp_path: Path):
    # GIVEN an object put through the CLI and processed by the pipeline
    key = f"seen {uuid.uuid4().hex[:6]}+x.txt"
    (tmp_path / key).write_text("hello")
    assert runner.invoke(app, ["put", str(tmp_path / key), *local.args]).exit_code == 0
    local.settle()

    # WHEN the read commands are asked about the last hour
    records = runner.invoke(app, ["records", "--since", "-1h", *local.args])
    events = runner.invoke(app, ["events", "--since", "-1h", *local.args])

    # THEN the record and the routed success event carry the key as uploaded
    assert records.exit_code == 0, records.output
    assert events.exit_code == 0, events.output
    assert key in records.output and "SUCCESS" in records.output
    assert key in events.output and "SUCCESS" in events.output

    # AND the object's trace is listed and shows processing, the DynamoDB write and the publish
    (record,) = _records_for(local, key)
    trace_id = trace_root(record.get("xrayTraceId"))
    assert trace_id, record
    _wait_for_spans(local, trace_id)
    listing = runner.invoke(app, ["traces", "--since", "-1h", *local.args])
    timeline = runner.invoke(app, ["traces", trace_id, *local.args])
    row = next((line for line in listing.output.splitlines() if trace_id in line), "")
    assert "(processing, dynamodb, eventbridge)" in row, listing.output
    assert key in row, listing.output  # the key column: which object the trace is about
    assert timeline.exit_code == 0, timeline.output
    for kind in ("processing", "dynamodb", "eventbridge"):
        assert re.search(rf"│\s*{kind}\s*│", timeline.output), timeline.output
    assert "requestId=" in timeline.output


def test_show_gathers_an_objects_record_event_and_trace_from_the_pipeline(local, runner, tmp_path: Path):
    # GIVEN an object uploaded twice through the pipeline: two versions, each processed
    key = f"shown {uuid.uuid4().hex[:6]}.txt"
    for body in ("first", "second"):
        (tmp_path / key).write_text(body)
        assert runner.invoke(app, ["put", str(tmp_path / key), *local.args]).exit_code == 0
    local.settle()
    newest = local.client("s3").head_object(Bucket=local.outputs["S3BucketName"], Key=key)["VersionId"]
    [record] = [r for r in _records_for(local, key) if r["versionId"] == newest]
    trace_id = trace_root(record.get("xrayTraceId"))
    assert trace_id, record
    _wait_for_spans(local, trace_id)

    # WHEN the key is shown, as JSON and as tables
    as_json = runner.invoke(app, ["show", key, "--json", *local.args])
    as_tables = runner.invoke(app, ["show", key, *local.args], env={"COLUMNS": "200"})

    # THEN it is the newest version's record, the success event announcing it, and its trace
    assert as_json.exit_code == 0, as_json.output
    shown = json.loads(as_json.output)
    assert [r["requestId"] for r in shown["records"]] == [record["requestId"]]
    assert [e["detail"]["versionId"] for e in shown["events"]] == [newest]
    assert [e["detail-type"] for e in shown["events"]] == [contract.DETAIL_TYPE_SUCCESS]
    [trace] = shown["traces"]
    assert trace["traceId"] == trace_id
    assert {"processing", "dynamodb", "eventbridge"} <= {span["kind"] for span in trace["spans"]}
    assert as_tables.exit_code == 0, as_tables.output
    assert f"{key} (version {newest}), the newest of 2 versions" in as_tables.output
    assert f"trace {trace_id}" in as_tables.output


def _wait_for_spans(local, trace_id: str, timeout: float = 30) -> None:
    """Spans reach the trace store over UDP, after the invocation returns: wait for them."""
    from s3flow.cli.target import resolve_target
    from s3flow.cli.traces import get_timelines

    target = resolve_target(endpoint_url=local.endpoint_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = get_timelines(target, [trace_id])
        if found and {"processing", "dynamodb", "eventbridge"} <= found[0].kinds:
            return
        time.sleep(0.2)


def _put_record(local, key: str, when: datetime, status: str = contract.STATUS_SUCCESS) -> None:
    digest = uuid.uuid4().hex
    item = {
        contract.TABLE_PARTITION_KEY: {"S": digest},
        contract.TABLE_SORT_KEY: {"S": format_timestamp(when)},
        contract.TIME_INDEX_PARTITION_KEY: {
            "S": time_bucket(digest, when, contract.DEFAULT_TIME_INDEX_SHARDS)
        },
        "status": {"S": status},
        "objectKey": {"S": key},
        "size": {"N": "3"},
    }
    local.client("dynamodb").put_item(TableName=local.outputs["DynamoDBTableName"], Item=item)


def test_records_reads_a_time_range_through_the_index_and_filters_by_status(local, runner):
    now = datetime.now(UTC)
    tag = uuid.uuid4().hex[:6]
    _put_record(local, f"recent-ok-{tag}", now - timedelta(minutes=5))
    _put_record(local, f"recent-bad-{tag}", now - timedelta(minutes=4), contract.STATUS_ERROR)
    _put_record(local, f"old-{tag}", now - timedelta(days=3))

    recent = runner.invoke(app, ["records", "--since", "-1h", *local.args])
    errors = runner.invoke(app, ["records", "--since", "-1h", "--status", "error", *local.args])
    older = runner.invoke(app, ["records", "--since", "-4d", "--until", "-2d", *local.args])
    to_the_end = runner.invoke(
        app, ["records", "--since", "-1h", "--until", "9999-12-31T23:59:59Z", *local.args]
    )

    assert recent.exit_code == 0, recent.output
    assert f"recent-ok-{tag}" in recent.output and f"recent-bad-{tag}" in recent.output
    assert f"old-{tag}" not in recent.output
    assert f"recent-bad-{tag}" in errors.output and f"recent-ok-{tag}" not in errors.output
    assert f"old-{tag}" in older.output and f"recent-ok-{tag}" not in older.output
    assert to_the_end.exit_code == 0, to_the_end.output
    assert f"recent-ok-{tag}" in to_the_end.output and f"old-{tag}" not in to_the_end.output


def _queue_depth(local) -> int:
    attributes = local.client("sqs").get_queue_attributes(
        QueueUrl=local.outputs["FailureQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_failures_are_shown_without_consuming_them_and_redrive_reprocesses_them(
    local, runner, tmp_path: Path
):
    # GIVEN a processor that fails (pointed at a missing table) until its retries run out
    function = local.outputs["LambdaFunctionName"]
    local.pipeline.override_environment(function, {contract.ENV_TABLE_NAME: "no-such-table"})
    key = f"fails {uuid.uuid4().hex[:6]}+1.txt"
    (tmp_path / key).write_text("will fail")
    assert runner.invoke(app, ["put", str(tmp_path / key), *local.args]).exit_code == 0
    local.settle()

    # WHEN the failures are listed twice and a dry-run redrive is asked for
    first = runner.invoke(app, ["failures", *local.args])
    second = runner.invoke(app, ["failures", *local.args])
    dry = runner.invoke(app, ["redrive", "--dry-run", *local.args])

    # THEN the failed event is shown with its decoded key, and nothing left the queue
    for result in (first, second):
        assert result.exit_code == 0, result.output
        assert key in result.output and "RetriesExhausted" in result.output
        assert "failure queue (1)" in result.output
    assert "would re-invoke 1" in dry.output
    assert _queue_depth(local) == 1
    assert _records_for(local, key) == []

    # WHEN the processor is fixed and the failures are redriven
    local.pipeline.override_environment(function, None)
    redriven = runner.invoke(app, ["redrive", *local.args])
    local.settle()

    # THEN the object is recorded, and the queue is empty
    assert redriven.exit_code == 0, redriven.output
    assert "re-invoked 1" in redriven.output
    assert [r["objectKey"] for r in _records_for(local, key)] == [key]
    assert _queue_depth(local) == 0
    assert "failure queue (0)" in runner.invoke(app, ["failures", *local.args]).output


def test_events_reads_entries_written_by_others_too(local, runner):
    # Entries in the log group that are not processor details are shown raw, not dropped.
    logs, group = local.client("logs"), local.outputs["EventLogGroupName"]
    stream = f"manual-{uuid.uuid4().hex[:6]}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    message = json.dumps({"note": f"hand-written {stream}"})
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    logs.put_log_events(
        logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now_ms, "message": message}]
    )

    result = runner.invoke(app, ["events", "--since", "-5m", *local.args])

    assert result.exit_code == 0, result.output
    assert f"hand-written {stream}" in result.output


def test_failures_lists_every_message_not_only_the_first_ten(local, runner):
    # GIVEN more failed invocations than one SQS receive returns
    sqs, url = local.client("sqs"), local.outputs["FailureQueueUrl"]
    keys = [f"many-{uuid.uuid4().hex[:6]}-{n}.txt" for n in range(14)]
    for key in keys:
        record = {"eventSource": "aws:s3", "s3": {"bucket": {"name": "b"}, "object": {"key": key}}}
        body = {
            "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": {"Records": [record]},
            "responsePayload": {"errorMessage": "boom"},
        }
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    try:
        # WHEN they are listed twice
        first = runner.invoke(app, ["failures", *local.args])
        second = runner.invoke(app, ["failures", *local.args])

        # THEN all of them are shown each time, and none was consumed or left hidden
        for result in (first, second):
            assert result.exit_code == 0, result.output
            assert "failure queue (14)" in result.output
            assert all(key in result.output for key in keys)
        assert _queue_depth(local) == 14
    finally:
        sqs.purge_queue(QueueUrl=url)
