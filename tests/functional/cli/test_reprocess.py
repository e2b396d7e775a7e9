"""``s3flow reprocess`` against the local pipeline: after a step is fixed, each step-error record
it left is replaced by a success once, and announced once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from s3flow import contract
from s3flow.cli import queries
from s3flow.cli.main import app
from s3flow.cli.target import resolve_target
from s3flow.functions.processor.records import object_id
from s3flow.local import StartHook
from support.cli import one_error_line

from . import reprocess_steps


@pytest.fixture
def fragile_step(local) -> Iterator[None]:
    """The processor runs ``fragile``, broken for keys holding ``/broken/`` until the test fixes it."""
    processor = local.outputs["LambdaFunctionName"]
    hook = StartHook(f"{reprocess_steps.__name__}:register_fragile_step", "/broken/")
    local.pipeline.runtime.set_sandbox_start_hook(processor, hook)
    local.pipeline.override_environment(processor, {reprocess_steps.BROKEN: "1"})
    try:
        yield
    finally:
        local.pipeline.override_environment(processor, None)
        local.pipeline.runtime.set_sandbox_start_hook(processor, None)


def _records(local, key: str, version_id: str) -> list[dict[str, Any]]:
    """Every record under the object version's id, read consistently."""
    bucket = local.outputs["S3BucketName"]
    page = local.client("dynamodb").query(
        TableName=local.outputs["DynamoDBTableName"],
        KeyConditionExpression="#pk = :pk",
        ExpressionAttributeNames={"#pk": contract.TABLE_PARTITION_KEY},
        ExpressionAttributeValues={":pk": {"S": object_id(bucket, key, version_id, None, None)}},
        ConsistentRead=True,
    )
    from s3flow.functions.shared.dynamodb_json import from_dynamo

    return [from_dynamo(item) for item in page["Items"]]


def _announced(local, record: dict[str, Any]) -> list[str]:
    """The detail types of the events delivered for the record, oldest first."""
    target = resolve_target(endpoint_url=local.endpoint_url)
    events = queries.fetch_events(target, datetime.now(UTC) - timedelta(hours=1))
    request_id = record[contract.TABLE_PARTITION_KEY]
    return [
        str(event.detail.get("status"))
        for event in events
        if event.detail.get(contract.TABLE_PARTITION_KEY) == request_id
    ]


def test_reprocess_replaces_each_step_error_once_after_the_fix(local, runner, fragile_step):
    # GIVEN a step broken for objects under broken/: two objects fail it, a third passes
    s3, bucket = local.client("s3"), local.outputs["S3BucketName"]
    prefix = f"rp-{uuid.uuid4().hex[:6]}/"
    keys = {name: f"{prefix}{name}" for name in ("broken/a.txt", "gone/broken/b.txt", "fine.txt")}
    versions = {
        name: s3.put_object(Bucket=bucket, Key=key, Body=b"x")["VersionId"] for name, key in keys.items()
    }
    local.settle()
    failed = _records(local, keys["broken/a.txt"], versions["broken/a.txt"])
    assert [(r["status"], r.get("failedStep")) for r in failed] == [(contract.STATUS_ERROR, "fragile")]
    assert _records(local, keys["fine.txt"], versions["fine.txt"])[0]["status"] == contract.STATUS_SUCCESS
    # AND one failed object's version is deleted since
    s3.delete_object(Bucket=bucket, Key=keys["gone/broken/b.txt"], VersionId=versions["gone/broken/b.txt"])
    # AND the fix is deployed
    local.pipeline.override_environment(local.outputs["LambdaFunctionName"], None)
    a = f"{keys['broken/a.txt']} ({versions['broken/a.txt']})"
    gone = f"{keys['gone/broken/b.txt']} ({versions['gone/broken/b.txt']})"

    # WHEN a dry run is asked for (through the time index)
    dry = runner.invoke(app, ["reprocess", "--since", "-1h", "--prefix", prefix, "--dry-run", *local.args])
    local.settle()

    # THEN it names what it would re-run and what it skips, and changes nothing
    assert dry.exit_code == 0, dry.output
    assert f"would invoke: {a}, failed step fragile" in dry.output
    assert f"skipped: {gone}: object version gone" in dry.output
    assert "found 2 error record(s), would invoke 1, skipped 1 (1 object version gone)" in dry.output
    assert _records(local, keys["broken/a.txt"], versions["broken/a.txt"]) == failed
    assert _announced(local, failed[0]) == [contract.STATUS_ERROR]

    # WHEN it runs (over the whole table)
    result = runner.invoke(app, ["reprocess", "--prefix", prefix, *local.args])
    local.settle()

    # THEN the error record is replaced in place by a success with the step's fields, announced once
    assert result.exit_code == 0, result.output
    assert f"invoked: {a}, failed step fragile" in result.output
    assert "found 2 error record(s), invoked 1 in 1 invocation(s), skipped 1 (1 object version gone)" in (
        result.output
    )
    [replaced] = _records(local, keys["broken/a.txt"], versions["broken/a.txt"])
    assert replaced[contract.TABLE_SORT_KEY] == failed[0][contract.TABLE_SORT_KEY]
    assert replaced["status"] == contract.STATUS_SUCCESS
    assert replaced[contract.STEPS_ATTRIBUTE] == {"fragile": {"fixed": True}}
    assert "failedStep" not in replaced and "errorMessage" not in replaced
    assert _announced(local, replaced) == [contract.STATUS_ERROR, contract.STATUS_SUCCESS]

    # WHEN it runs again
    again = runner.invoke(app, ["reprocess", "--since", "-1h", "--prefix", f"{prefix}broken/", *local.args])
    local.settle()

    # THEN it finds nothing left to re-run, and nothing more is announced
    assert again.exit_code == 0, again.output
    assert "found 0 error record(s), invoked 0 in 0 invocation(s), skipped 0, 0 not accepted" in again.output
    assert _announced(local, replaced) == [contract.STATUS_ERROR, contract.STATUS_SUCCESS]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--status", "PENDING"], "--status must be ERROR, not 'PENDING'"),
        (["--status", "success"], "--status SUCCESS: a successful record is never replaced"),
        (["--since", "last tuesday"], "cannot read time 'last tuesday'"),
        (["--since", "-999999999999d"], "--since '-999999999999d' is out of range"),
    ],
    ids=["unknown status", "success", "unreadable since", "since out of range"],
)
def test_bad_input_is_one_line_before_anything_is_read(runner, stopped_endpoint, arguments, message):
    result = runner.invoke(app, ["reprocess", *arguments, "--endpoint-url", stopped_endpoint])

    assert result.exit_code == 1
    assert message in one_error_line(result.output)
