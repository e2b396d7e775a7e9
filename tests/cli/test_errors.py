"""Bad arguments, a missing stack, a stopped emulator: one line, non-zero exit, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3flow.cli.main import app

READ_COMMANDS = [
    ["records"], ["events"], ["traces"], ["failures"], ["redrive"], ["redrive", "--dry-run"], ["backfill"],
    ["backfill", "--dry-run"], ["metrics"],
]  # fmt: skip


def _one_error_line(output: str) -> str:
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("command", [*READ_COMMANDS, ["put", __file__]], ids=lambda c: " ".join(c)[:20])
def test_stopped_emulator_is_one_line_naming_the_url(runner, stopped_endpoint, command):
    result = runner.invoke(app, [*command, "--endpoint-url", stopped_endpoint])

    assert result.exit_code == 1
    line = _one_error_line(result.output)
    assert f"no emulator at {stopped_endpoint}" in line
    assert "s3flow local up" in line


def test_default_target_is_the_local_emulator_on_4566(runner, monkeypatch):
    # GIVEN no options: the CLI talks to the local emulator (nothing listens on 4566 in tests)
    monkeypatch.delenv("S3FLOW_ENDPOINT_URL", raising=False)
    from s3flow.cli.target import resolve_target

    target = resolve_target()
    assert (target.endpoint_url, target.stack_name) == ("http://127.0.0.1:4566", "TapStackdev")


def test_stack_alone_targets_aws_and_endpoint_overrides():
    from s3flow.cli.target import resolve_target

    assert resolve_target("TapStackprod").endpoint_url is None
    assert resolve_target("TapStackprod", "http://localhost:9999/").endpoint_url == "http://localhost:9999"


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: " ".join(c))
def test_missing_stack_is_one_line(local, runner, command):
    result = runner.invoke(app, [*command, "--endpoint-url", local.endpoint_url, "--stack", "TapStacknope"])

    assert result.exit_code == 1
    assert "stack TapStacknope not found" in _one_error_line(result.output)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["records", "--bogus"], "No such option: --bogus"),
        (["records", "--since", "last tuesday"], "cannot read time 'last tuesday'"),
        (["records", "--since", "-1h", "--until", "-2h"], "is before --since"),
        (["records", "--status", "MAYBE"], "--status must be SUCCESS or ERROR"),
        (["events", "--limit", "zero"], "'--limit'"),
        (["put"], "Missing argument"),
        (["put", "/no/such/file.txt"], "no such file or folder: /no/such/file.txt"),
        (["local", "up", "--port", "99999"], "'--port'"),
        (["demo", "--concurrency", "0"], "'--concurrency'"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_bad_arguments_are_one_line(runner, argv, fragment):
    result = runner.invoke(app, argv)

    assert result.exit_code != 0
    assert fragment in _one_error_line(result.output)


def test_local_up_without_cloud_assembly_offers_synth(runner, tmp_path: Path):
    result = runner.invoke(app, ["local", "up", "--cdk-out", str(tmp_path / "cdk.out")])

    assert result.exit_code == 1
    line = _one_error_line(result.output)
    assert "TapStackdev.template.json" in line and "--synth" in line


def test_local_up_on_a_busy_port_names_the_port(runner, tmp_path: Path):
    import socket

    (tmp_path / "TapStackdev.template.json").write_text("{}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["local", "up", "--cdk-out", str(tmp_path), "--port", str(port)])

    assert result.exit_code == 1
    line = _one_error_line(result.output)
    assert f"port {port} is in use" in line and "--port" in line


def test_an_unreachable_aws_endpoint_is_not_called_an_emulator():
    from botocore.exceptions import EndpointConnectionError

    from s3flow.cli.errors import describe

    aws = EndpointConnectionError(endpoint_url="https://cloudformation.eu-west-1.amazonaws.com/")
    local = EndpointConnectionError(endpoint_url="http://127.0.0.1:4566/")

    assert (
        describe(aws)
        == "cannot reach AWS at https://cloudformation.eu-west-1.amazonaws.com: check your network"
    )
    assert describe(local) == "no emulator at http://127.0.0.1:4566: start it with `s3flow local up`"


class _UnreachableCloudFormation:
    def describe_stacks(self, StackName: str) -> dict:  # noqa: N803 - boto3's parameter name
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com/")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("in AWS", "cannot reach AWS at https://cloudformation.us-east-1.amazonaws.com/"),
        ("at http://127.0.0.1:4566", "no emulator at http://127.0.0.1:4566"),
    ],
)
def test_stack_outputs_name_what_could_not_be_reached(where, expected):
    from s3flow.cli.errors import CliError
    from s3flow.cli.target import read_stack_outputs

    with pytest.raises(CliError, match=expected.replace(".", r"\.")):
        read_stack_outputs(_UnreachableCloudFormation(), "TapStackprod", where)


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
    line = _one_error_line(result.output)
    assert fragment in line
    assert "1970-01-01T00:00:00Z" in line and "9999-12-31T23:59:59Z" in line


def test_version_prints_the_installed_package_version(runner):
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0, result.output
    assert result.output == f"s3flow {version('s3flow')}\n"
