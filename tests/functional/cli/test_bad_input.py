"""Bad input the other CLI tests do not cover, against the local pipeline: ``put`` and ``backfill``
aimed at what does not exist, unknown or malformed trace ids, a stopped emulator. Each: one
``error:`` line, non-zero exit, no traceback (garbage options are in tests/unit/cli)."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3flow.cli.main import app
from support.cli import one_error_line


@pytest.mark.parametrize(
    "command", [["metrics"], ["traces", "1-00000000-000000000000000000000000"]], ids=["metrics", "traces id"]
)
def test_commands_on_a_stopped_emulator_are_one_line(runner, stopped_endpoint, command):
    result = runner.invoke(app, [*command, "--endpoint-url", stopped_endpoint])

    assert result.exit_code == 1
    assert f"no emulator at {stopped_endpoint}" in one_error_line(result.output)


def test_put_to_a_missing_stack_is_one_line(local, runner, tmp_path: Path):
    sample = tmp_path / "sample.txt"
    sample.write_text("x")

    result = runner.invoke(app, ["put", str(sample), *local.args, "--stack", "TapStacknope"])

    assert result.exit_code == 1
    assert "stack TapStacknope not found" in one_error_line(result.output)


def test_backfill_of_a_missing_bucket_is_one_line(local, runner):
    result = runner.invoke(app, ["backfill", "--bucket", "no-such-bucket-here", *local.args])

    assert result.exit_code == 1
    assert "NoSuchBucket" in one_error_line(result.output)


def test_an_unknown_trace_id_is_one_line(local, runner):
    result = runner.invoke(app, ["traces", "1-00000000-000000000000000000000000", *local.args])

    assert result.exit_code == 1
    assert "1-00000000-000000000000000000000000" in one_error_line(result.output)


def test_a_malformed_trace_id_is_one_line(local, runner):
    result = runner.invoke(app, ["traces", "not-a-trace-id", *local.args])

    assert result.exit_code != 0
    assert "not-a-trace-id" in one_error_line(result.output)


def test_a_bad_time_for_traces_is_one_line(local, runner):
    result = runner.invoke(app, ["traces", "--since", "ages ago", *local.args])

    assert result.exit_code != 0
    assert "cannot read time 'ages ago'" in one_error_line(result.output)
