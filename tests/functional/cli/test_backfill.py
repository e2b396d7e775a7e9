"""``s3flow backfill`` against the local pipeline: versions without a record get one, once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from s3flow import contract
from s3flow.cli import queries
from s3flow.cli.main import app
from s3flow.cli.target import resolve_target


def _records(local, prefix: str) -> list[dict]:
    target = resolve_target(endpoint_url=local.endpoint_url)
    now = datetime.now(UTC)
    items = queries.fetch_records(target, now - timedelta(days=1), now + timedelta(minutes=1))
    return [item for item in items if str(item.get("objectKey", "")).startswith(prefix)]


def _forget(local, item: dict) -> None:
    key = {name: {"S": item[name]} for name in (contract.TABLE_PARTITION_KEY, contract.TABLE_SORT_KEY)}
    local.client("dynamodb").delete_item(TableName=local.outputs["DynamoDBTableName"], Key=key)


def test_backfill_records_only_the_versions_without_a_record_and_is_safe_to_repeat(
    local, runner, tmp_path: Path
):
    # GIVEN three processed objects under a prefix, one of them with two versions
    prefix = f"bf-{uuid.uuid4().hex[:6]}/"
    for name, body in (("a b+1.txt", "1"), ("é.txt", "2"), ("a b+1.txt", "v2"), ("c.txt", "3")):
        (tmp_path / name).write_text(body)
        assert (
            runner.invoke(app, ["put", str(tmp_path / name), "--prefix", prefix, *local.args]).exit_code == 0
        )
    local.settle()
    before = _records(local, prefix)
    assert len(before) == 4
    # AND the records of two versions are lost
    lost = sorted(before, key=lambda item: item["objectKey"])[:2]
    for item in lost:
        _forget(local, item)

    # WHEN a dry run is asked for
    dry = runner.invoke(app, ["backfill", "--prefix", prefix, "--dry-run", *local.args])

    # THEN it names exactly the two versions and sends nothing
    assert dry.exit_code == 0, dry.output
    assert "4 version(s) listed, 2 already recorded, 2 would send" in dry.output
    for item in lost:
        assert f"would send: {item['objectKey']} ({item['versionId']})" in dry.output
    assert len(_records(local, prefix)) == 2

    # WHEN it runs, twice
    first = runner.invoke(app, ["backfill", "--prefix", prefix, *local.args])
    local.settle()
    second = runner.invoke(app, ["backfill", "--prefix", prefix, *local.args])
    local.settle()

    # THEN each version has exactly one record again, with its key as uploaded
    assert first.exit_code == 0, first.output
    assert "2 already recorded, 2 sent in 1 invocation(s)" in first.output
    assert "4 already recorded, 0 sent" in second.output
    after = _records(local, prefix)
    assert sorted((r["objectKey"], r["versionId"]) for r in after) == sorted(
        (r["objectKey"], r["versionId"]) for r in before
    )


def test_backfill_of_another_bucket_name_that_does_not_exist_is_one_line(local, runner):
    result = runner.invoke(app, ["backfill", "--bucket", "no-such-bucket-here", *local.args])

    assert result.exit_code == 1
    assert "NoSuchBucket" in result.output
    assert "Traceback" not in result.output


def test_redrive_after_backfill_removes_the_failure_instead_of_recording_the_version_twice(
    local, runner, tmp_path: Path
):
    # GIVEN an object whose processing failed until its retries ran out (event in the failure queue)
    function = local.outputs["LambdaFunctionName"]
    prefix = f"bfr-{uuid.uuid4().hex[:6]}/"
    (tmp_path / "late.txt").write_text("late")
    local.pipeline.override_environment(function, {contract.ENV_TABLE_NAME: "no-such-table"})
    try:
        assert (
            runner.invoke(app, ["put", str(tmp_path / "late.txt"), "--prefix", prefix, *local.args]).exit_code
            == 0
        )
        local.settle()
    finally:
        local.pipeline.override_environment(function, None)
    assert "failure queue (1)" in runner.invoke(app, ["failures", *local.args]).output
    # AND a backfill recorded it meanwhile (with the version's LastModified as event time)
    assert "1 sent" in runner.invoke(app, ["backfill", "--prefix", prefix, *local.args]).output
    local.settle()

    # WHEN the failure queue is redriven
    result = runner.invoke(app, ["redrive", *local.args])
    local.settle()

    # THEN the message is removed without a replay, and the version still has one record
    assert result.exit_code == 0, result.output
    assert f"already recorded: {prefix}late.txt" in result.output
    assert "re-invoked 0, 1 already recorded (removed)" in result.output
    assert "failure queue (0)" in runner.invoke(app, ["failures", *local.args]).output
    assert len(_records(local, prefix)) == 1
