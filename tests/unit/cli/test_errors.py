"""Bad arguments and unreachable targets, no emulator needed: one line, non-zero exit, no traceback.
A missing stack and a stopped emulator are in tests/functional/cli/test_errors.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3flow.cli.main import app
from support.cli import one_error_line


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
    assert fragment in one_error_line(result.output)


def test_local_up_without_cloud_assembly_offers_synth(runner, tmp_path: Path):
    result = runner.invoke(app, ["local", "up", "--cdk-out", str(tmp_path / "cdk.out")])

    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "TapStackdev.template.json" in line and "--synth" in line


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


def test_version_prints_the_installed_package_version(runner):
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0, result.output
    assert result.output == f"s3flow {version('s3flow')}\n"
