"""A missing stack, a stopped emulator, a busy port: one line, non-zero exit, no traceback.
Bad arguments are in tests/unit/cli/test_errors.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3flow.cli.main import app
from support.cli import one_error_line

READ_COMMANDS = [
    ["records"], ["events"], ["traces"], ["failures"], ["redrive"], ["redrive", "--dry-run"], ["backfill"],
    ["backfill", "--dry-run"], ["metrics"],
]  # fmt: skip


@pytest.mark.parametrize("command", [*READ_COMMANDS, ["put", __file__]], ids=lambda c: " ".join(c)[:20])
def test_stopped_emulator_is_one_line_naming_the_url(runner, stopped_endpoint, command):
    result = runner.invoke(app, [*command, "--endpoint-url", stopped_endpoint])

    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert f"no emulator at {stopped_endpoint}" in line
    assert "s3flow local up" in line


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: " ".join(c))
def test_missing_stack_is_one_line(local, runner, command):
    result = runner.invoke(app, [*command, "--endpoint-url", local.endpoint_url, "--stack", "TapStacknope"])

    assert result.exit_code == 1
    assert "stack TapStacknope not found" in one_error_line(result.output)


def test_local_up_on_a_busy_port_names_the_port(runner, tmp_path: Path):
    import socket

    (tmp_path / "TapStackdev.template.json").write_text("{}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["local", "up", "--cdk-out", str(tmp_path), "--port", str(port)])

    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert f"port {port} is in use" in line and "--port" in line


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["records", "--since", "-99999999d"], "--since '-99999999d' is out of range"),
        (["records", "--until", "-99999999d"], "--until '-99999999d' is out of range"),
        (["records", "--since", "1969-12-31"], "--since '1969-12-31' is out of range"),
        (["records", "--since", "-" + "9" * 5000 + "d"], "is out of range"),
        (["events", "--since", "-99999999d"], "--since '-99999999d' is out of range"),
        (["traces", "--since", "-99999999d"], "--since '-99999999d' is out of range"),
        (["metrics", "--since", "-99999999d"], "--since '-99999999d' is out of range"),
        (["metrics", "--until", "0001-01-01T00:00:00+01:00"], "--until '0001-01-01T00:00:00+01:00' is out"),
    ],
    ids=lambda value: " ".join(value)[:40] if isinstance(value, list) else None,
)
def test_a_time_out_of_range_is_one_line_naming_the_value_and_the_range(
    runner, stopped_endpoint, argv, fragment
):
    # Checked before any call: the emulator being down must not hide the bad value.
    result = runner.invoke(app, [*argv, "--endpoint-url", stopped_endpoint])

    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert fragment in line
    assert "1970-01-01T00:00:00Z" in line and "9999-12-31T23:59:59Z" in line
