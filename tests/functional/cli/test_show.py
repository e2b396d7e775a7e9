"""Step fields seen through the CLI: ``records --json``, ``events --json``, the records table's
steps column, and ``show KEY``, on the module's fake stack (a bare moto server) holding what the
pipeline would have left for an object whose step returned Decimals: its record (keyed by the
processor's own functions), its event as the rule delivers it, and its trace."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from s3flow import contract
from s3flow.cli.main import app
from s3flow.functions.processor import items
from s3flow.functions.processor.records import ObjectRecord
from s3flow.functions.processor.steps.registry import storable
from s3flow.functions.shared.dynamodb_json import to_dynamo
from s3flow.functions.shared.entries import entry_for

TOTALS = {"rows": 3, "tenth": Decimal("0.1"), "sum": Decimal("0.1000000000000000000000000000000000001")}
STREAM = "events"


@pytest.fixture(scope="module", autouse=True)
def fresh_moto() -> None:
    """moto's state is global to the process, and another module's fake stack (same names) may
    have run just before: start from none, as ``/moto-api/reset`` does. Autouse, so it runs
    before the module's fake stack is made."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def _trace_id() -> str:
    return f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"


def _put_object(fake_stack, key: str, body: bytes = b"a,b\n1,2\n") -> dict[str, Any]:
    return fake_stack.client("s3").put_object(Bucket=fake_stack.outputs["S3BucketName"], Key=key, Body=body)


def _processed(fake_stack, key: str, steps: dict[str, Any] | None = None, failed: str | None = None):
    """An uploaded object with what the processor and publisher leave for it: the record, the
    routed event and a trace; returns (record, trace id)."""
    put = _put_object(fake_stack, key)
    trace_id = _trace_id()
    record = ObjectRecord(
        bucket=fake_stack.outputs["S3BucketName"],
        key=key,
        version_id=put["VersionId"],
        size=8,
        etag=put["ETag"].strip('"'),
        sequencer="0055AED6DCD90281E5",
        event_time=datetime.now(UTC),
        event_name="ObjectCreated:Put",
        region="us-east-1",
    )
    invocation = items.Invocation("cli-processor", "$LATEST", "req-1", f"Root={trace_id};Sampled=1", "cli")
    item = items.object_item(record, invocation, shards=contract.DEFAULT_TIME_INDEX_SHARDS,
                             processed_at=datetime.now(UTC))  # fmt: skip
    if failed:
        item = items.step_error_item(item, step=failed, message="bad header", error_type="ValueError")
    else:
        item = items.with_step_fields(
            item, {name: storable(name, fields) for name, fields in (steps or {}).items()}
        )
    fake_stack.client("dynamodb").put_item(
        TableName=fake_stack.outputs["DynamoDBTableName"], Item=to_dynamo(item)
    )
    _route(fake_stack, item)
    _trace(fake_stack, trace_id)
    return item, trace_id


def _route(fake_stack, item: dict[str, Any]) -> None:
    """The event as the rule writes it to the log group: the whole event, the detail as published."""
    entry = entry_for(item, event_bus_name="processing-events-cli")
    head = {"version": "0", "id": str(uuid.uuid4()), "detail-type": entry["DetailType"],
            "source": entry["Source"], "account": "123456789012", "time": "2026-12-04T17:02:11Z",
            "region": "us-east-1", "resources": []}  # fmt: skip
    message = json.dumps(head)[:-1] + ',"detail":' + entry["Detail"] + "}"
    logs, group = fake_stack.client("logs"), fake_stack.outputs["EventLogGroupName"]
    if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=STREAM)["logStreams"]:
        logs.create_log_stream(logGroupName=group, logStreamName=STREAM)
    logs.put_log_events(logGroupName=group, logStreamName=STREAM,
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": message}])  # fmt: skip


def _trace(fake_stack, trace_id: str) -> None:
    start = time.time()
    segment = {
        "name": "s3-object-processor-cli",
        "id": uuid.uuid4().hex[:16],
        "trace_id": trace_id,
        "start_time": start,
        "end_time": start + 0.05,
        "subsegments": [
            {"name": "process_s3_records", "id": uuid.uuid4().hex[:16], "start_time": start + 0.01,
             "end_time": start + 0.04, "annotations": {"step": "totals"}},
        ],
    }  # fmt: skip
    fake_stack.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(segment)])


@pytest.fixture(scope="module")
def object_with_steps(fake_stack):
    key = f"sums {uuid.uuid4().hex[:6]}.csv"
    item, trace_id = _processed(
        fake_stack, key, steps={"totals": TOTALS, "kind": {"contentType": "text/csv"}}
    )
    return key, item, trace_id


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line, parse_float=Decimal) for line in output.splitlines()]


def test_records_json_is_one_whole_record_per_line_with_exact_step_fields(
    fake_stack, runner, object_with_steps
):
    key, item, _ = object_with_steps

    result = runner.invoke(app, ["records", "--json", *fake_stack.args])

    assert result.exit_code == 0, result.output
    [record] = [line for line in _lines(result.output) if line.get("objectKey") == key]
    # every attribute, those the time index does not carry too (step fields, invocation fields)
    assert set(record) == set(item)
    assert record["steps"]["totals"] == TOTALS
    assert '"sum":0.1000000000000000000000000000000000001' in result.output


def test_the_records_table_has_a_compact_steps_column(fake_stack, runner, object_with_steps):
    key, _, _ = object_with_steps
    failed_key = f"bad {uuid.uuid4().hex[:6]}.csv"
    _processed(fake_stack, failed_key, failed="totals")

    result = runner.invoke(app, ["records", *fake_stack.args], env={"COLUMNS": "300"})

    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if key in line)
    assert '{"kind":{"contentType":"text/csv"},"totals":{' in row and "…" in row
    assert "failed: totals" in next(line for line in result.output.splitlines() if failed_key in line)


def test_events_json_is_each_event_as_delivered_with_exact_numbers(fake_stack, runner, object_with_steps):
    key, item, _ = object_with_steps

    result = runner.invoke(app, ["events", "--json", *fake_stack.args])

    assert result.exit_code == 0, result.output
    [event] = [line for line in _lines(result.output) if line["detail"].get("objectKey") == key]
    assert event["detail-type"] == contract.DETAIL_TYPE_SUCCESS
    assert event["detail"]["requestId"] == item["requestId"]
    assert event["detail"]["steps"]["totals"] == TOTALS


def test_show_prints_the_record_its_step_fields_its_event_and_its_trace(
    fake_stack, runner, object_with_steps
):
    key, item, trace_id = object_with_steps
    other = f"other {uuid.uuid4().hex[:6]}.csv"
    _processed(fake_stack, other, steps={"totals": {"rows": 1}})  # a second object: not shown

    result = runner.invoke(app, ["show", key, *fake_stack.args], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{key} (version {item['versionId']})" in out
    assert item["requestId"] in out and item["awsRequestId"] in out
    assert '  totals: {\n    "rows": 3,\n    "sum": 0.1000000000000000000000000000000000001,' in out
    assert "events in the log group" in out and "(1)" in out and other not in out
    assert f"trace {trace_id}" in out and "process_s3_records" in out and "step=totals" in out


def test_show_json_is_one_document_with_records_events_and_traces(fake_stack, runner, object_with_steps):
    key, item, trace_id = object_with_steps

    result = runner.invoke(app, ["show", key, "--json", *fake_stack.args])

    assert result.exit_code == 0, result.output
    [document] = _lines(result.output)
    assert document["versionId"] == item["versionId"] and document["requestId"] == item["requestId"]
    assert [record["steps"]["totals"] for record in document["records"]] == [TOTALS]
    assert [event["detail"]["requestId"] for event in document["events"]] == [item["requestId"]]
    [trace] = document["traces"]
    assert trace["traceId"] == trace_id
    assert [(span["name"], span["depth"]) for span in trace["spans"]] == [
        ("s3-object-processor-cli", 0),
        ("process_s3_records", 1),
    ]
    assert trace["spans"][1]["atMs"] == pytest.approx(10, abs=1) and trace["spans"][1]["ms"] == pytest.approx(
        30, abs=1
    )


def test_show_picks_the_newest_version_unless_told(fake_stack, runner, object_with_steps):
    key, item, _ = object_with_steps
    newer = _put_object(fake_stack, key, b"newer")["VersionId"]  # not processed (yet)

    newest = runner.invoke(app, ["show", key, *fake_stack.args])
    older = runner.invoke(app, ["show", key, "--version-id", item["versionId"], "--json", *fake_stack.args])

    table = fake_stack.outputs["DynamoDBTableName"]
    assert newest.exit_code == 1
    assert newest.output == f"error: no record for {key} version {newer} in {table}\n"
    assert older.exit_code == 0, older.output
    assert _lines(older.output)[0]["records"][0]["steps"]["totals"] == TOTALS


def test_show_of_a_key_never_uploaded_is_one_line(fake_stack, runner):
    result = runner.invoke(app, ["show", "nope.txt", *fake_stack.args])

    table, bucket = fake_stack.outputs["DynamoDBTableName"], fake_stack.outputs["S3BucketName"]
    assert result.exit_code == 1
    assert result.output == f"error: no record for nope.txt in {table}: {bucket} has no object nope.txt\n"
