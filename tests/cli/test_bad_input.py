"""Bad input the other CLI tests do not cover: every command's remaining options given
garbage, ``put`` and ``backfill`` aimed at what does not exist. Each: one ``error:`` line,
non-zero exit, no traceback (tests/cli/test_errors.py covers the shared cases)."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3flow.cli.main import app


def _one_error_line(output: str) -> str:
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["records", "--since", ""], "cannot read time ''"),
        (["records", "--until", "yesterday-ish"], "cannot read time 'yesterday-ish'"),
        (["events", "--since", "soon"], "cannot read time 'soon'"),
        (["events", "--limit", "0"], "'--limit'"),
        (["traces", "--limit", "-3"], "'--limit'"),
        (["metrics", "--since", "1970-13-45"], "cannot read time '1970-13-45'"),
        (["metrics", "--since", "-1h", "--until", "-2h"], "is before --since"),
        (["metrics", "--period", "0"], "'--period'"),
        (["failures", "--bogus"], "No such option: --bogus"),
        (["redrive", "--force"], "No such option: --force"),
        (["backfill", "--since", "-1h"], "No such option: --since"),
        (["put", "a.txt", "--prefix"], "requires an argument"),
        (["local", "up", "--concurrency", "0"], "'--concurrency'"),
        (["local", "down"], "No such command"),
        (["demo", "--port", "-1"], "'--port'"),
    ],
    ids=lambda value: " ".join(value)[:40] if isinstance(value, list) else None,
)
def test_bad_arguments_are_one_line(runner, argv, fragment):
    result = runner.invoke(app, argv)

    assert result.exit_code != 0
    assert fragment in _one_error_line(result.output)


@pytest.mark.parametrize(
    "command", [["metrics"], ["traces", "1-00000000-000000000000000000000000"]], ids=["metrics", "traces id"]
)
def test_commands_on_a_stopped_emulator_are_one_line(runner, stopped_endpoint, command):
    result = runner.invoke(app, [*command, "--endpoint-url", stopped_endpoint])

    assert result.exit_code == 1
    assert f"no emulator at {stopped_endpoint}" in _one_error_line(result.output)


def test_put_to_a_missing_stack_is_one_line(local, runner, tmp_path: Path):
    sample = tmp_path / "sample.txt"
    sample.write_text("x")

    result = runner.invoke(app, ["put", str(sample), *local.args, "--stack", "TapStacknope"])

    assert result.exit_code == 1
    assert "stack TapStacknope not found" in _one_error_line(result.output)


def test_backfill_of_a_missing_bucket_is_one_line(local, runner):
    result = runner.invoke(app, ["backfill", "--bucket", "no-such-bucket-here", *local.args])

    assert result.exit_code == 1
    assert "NoSuchBucket" in _one_error_line(result.output)


def test_an_unknown_trace_id_is_one_line(local, runner):
    result = runner.invoke(app, ["traces", "1-00000000-000000000000000000000000", *local.args])

    assert result.exit_code == 1
    assert "1-00000000-000000000000000000000000" in _one_error_line(result.output)


def test_a_malformed_trace_id_is_one_line(local, runner):
    result = runner.invoke(app, ["traces", "not-a-trace-id", *local.args])

    assert result.exit_code != 0
    assert "not-a-trace-id" in _one_error_line(result.output)


def test_a_bad_time_for_traces_is_one_line(local, runner):
    result = runner.invoke(app, ["traces", "--since", "ages ago", *local.args])

    assert result.exit_code != 0
    assert "cannot read time 'ages ago'" in _one_error_line(result.output)
