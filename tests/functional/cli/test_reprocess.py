"""``s3flow reprocess`` against the local pipeline: after a step is fixed, each step-error record
it left is replaced by a success once, and announced once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from s3flow import contract
from s3flow.cli import queries, reprocess
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
    request_id = object_id(local.outputs["S3BucketName"], key, version_id, None, None)
    return queries.object_records(local.client("dynamodb"), local.outputs["DynamoDBTableName"], request_id)


def _announced(local, record: dict[str, Any]) -> list[str]:
    """The statuses of the events delivered for the record, oldest first."""
    target = resolve_target(endpoint_url=local.endpoint_url)
    start = datetime.now(UTC) - timedelta(hours=1)
    events = queries.fetch_events(target, start, request_id=record[contract.TABLE_PARTITION_KEY])
    return [event.status for event in events]


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


def _step_error(**changes: Any) -> dict[str, Any]:
    """A step-error record as the processor stores it, of an object version keyed by ``changes``."""
    item: dict[str, Any] = {
        "bucketName": "b",
        "objectKey": "in/a b+é.txt",
        "size": Decimal(3),
        "eventName": "ObjectCreated:Put",
        contract.TABLE_SORT_KEY: "2026-11-25T09:21:29.372Z",
        "status": contract.STATUS_ERROR,
        "failedStep": "fragile",
        "versionId": "v1",
        **changes,
    }
    version, sequencer = item.get("versionId"), item.get("sequencer")
    item.setdefault(contract.TABLE_PARTITION_KEY, object_id("b", "in/a b+é.txt", version, sequencer, None))
    return {name: value for name, value in item.items() if value is not None}


@pytest.mark.parametrize(
    "changes",
    [{}, {"versionId": None, "sequencer": "0062E99A88DC407460"}],
    ids=["versioned", "unversioned, keyed by its sequencer"],
)
def test_the_rebuilt_event_names_the_record_itself(changes):
    item = _step_error(**changes)

    record, why = reprocess.rebuild(item, "us-east-1")

    assert why is None and record is not None
    assert record["eventTime"] == item[contract.TABLE_SORT_KEY]
    assert record["s3"]["configurationId"] == "s3flow-reprocess"


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ({contract.TABLE_PARTITION_KEY: "error#ab12", "status": contract.STATUS_ERROR}, reprocess.BAD_RECORD),
        (_step_error(failedStep=None), reprocess.NOT_A_STEP_ERROR),
        (_step_error(requestId="0" * 64), "the processor would not map it to this record"),
        (_step_error(size=None), "its event cannot be rebuilt: the record has no size"),
    ],
    ids=["bad record", "error without a failed step", "another object id", "no size"],
)
def test_a_record_the_processor_would_not_retry_is_skipped_with_why(item, why):
    record, reason = reprocess.rebuild(item, "us-east-1")

    assert record is None
    assert why in str(reason)


class _HeadObject:
    """An S3 client whose HeadObject answers with ``code`` (None: the object is there)."""

    def __init__(self, code: str | None) -> None:
        self.code, self.asked = code, []

    def head_object(self, **params: Any) -> dict[str, Any]:
        self.asked.append(params)
        if self.code:
            raise ClientError({"Error": {"Code": self.code, "Message": ""}}, "HeadObject")
        return {}


@pytest.mark.parametrize(
    ("code", "why"),
    [
        (None, None),
        ("404", reprocess.VERSION_GONE),
        ("412", reprocess.OBJECT_REPLACED),
        ("403", "cannot read the object: 403"),
    ],
    ids=["there", "gone", "replaced", "forbidden"],
)
def test_an_unversioned_object_must_still_have_its_etag(code, why):
    s3 = _HeadObject(code)

    reason = reprocess.object_missing(
        s3, _step_error(versionId=None, sequencer="0062E99A88DC407460", eTag="e1")
    )

    assert reason == why
    assert s3.asked == [{"Bucket": "b", "Key": "in/a b+é.txt", "IfMatch": '"e1"'}]
