"""PipelineSettings: each value checked at synth with one line naming the setting; the context
read as `-c key=value` gives it, the same for `python app.py` and the CDK CLI.

No synthesis here (test_settings_templates.py has the templates): a bad value fails before
any resource is built.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from s3flow.infra.app import context_arguments
from s3flow.infra.errors import SettingError
from s3flow.infra.functions import MEMORY_SIZE, TIMEOUT
from s3flow.infra.settings import (
    CONTEXT_KEYS,
    CallService,
    PipelineSettings,
    ReadBucket,
    step_permissions_value,
)
from s3flow.infra.stack import resolve_settings

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_the_defaults_are_the_reference_designs() -> None:
    settings = PipelineSettings()

    assert (settings.processor_memory_mb, settings.publisher_memory_mb) == (MEMORY_SIZE, MEMORY_SIZE)
    assert settings.processor_timeout_seconds == settings.publisher_timeout_seconds == TIMEOUT.to_seconds()
    assert (settings.notification_prefix, settings.notification_suffix) == ("", "")
    assert settings.removal_policy == "destroy" and not settings.retain
    assert settings.step_permissions == () and settings.existing_bucket_name is None
    assert PipelineSettings.from_context({}) == settings


def test_every_setting_has_a_context_key_named_as_the_docs_name_it() -> None:
    assert CONTEXT_KEYS == (
        "processorMemoryMb",
        "processorTimeoutSeconds",
        "publisherMemoryMb",
        "publisherTimeoutSeconds",
        "notificationPrefix",
        "notificationSuffix",
        "removalPolicy",
        "stepPermissions",
        "existingBucketName",
    )
    operations = (REPO_ROOT / "docs" / "operations.md").read_text()
    for key in CONTEXT_KEYS:
        assert f"`{key}`" in operations, key


def test_context_strings_and_cdk_json_values_become_typed_settings() -> None:
    from_cli = PipelineSettings.from_context(
        {
            "processorMemoryMb": "1024",
            "processorTimeoutSeconds": "60",
            "publisherMemoryMb": "512",
            "publisherTimeoutSeconds": "120",
            "notificationPrefix": "incoming/",
            "notificationSuffix": ".csv",
            "removalPolicy": "RETAIN",
            "existingBucketName": "my-bucket",
            "stepPermissions": '[{"readBucket": "ref-data", "list": true},'
            ' {"actions": ["comprehend:DetectSentiment"], "resources": ["*"]}]',
        }
    )
    assert from_cli == PipelineSettings(
        processor_memory_mb=1024,
        processor_timeout_seconds=60,
        publisher_memory_mb=512,
        publisher_timeout_seconds=120,
        notification_prefix="incoming/",
        notification_suffix=".csv",
        removal_policy="retain",
        existing_bucket_name="my-bucket",
        step_permissions=(
            ReadBucket("ref-data", list_objects=True),
            CallService(("comprehend:DetectSentiment",), ("*",)),
        ),
    )
    from_cdk_json = PipelineSettings.from_context(
        {"processorMemoryMb": 1024, "stepPermissions": [{"readBucket": "arn:aws:s3:::ref-data"}]}
    )
    assert from_cdk_json.processor_memory_mb == 1024
    (read,) = from_cdk_json.step_permissions
    assert isinstance(read, ReadBucket)
    assert (read.bucket_name, read.bucket_arn, read.list_objects) == (
        "ref-data",
        "arn:aws:s3:::ref-data",
        False,
    )


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"processorMemoryMb": "64"},
            "processorMemoryMb (processor_memory_mb) must be a whole number of MB from 128 to 10240, got 64",
        ),
        (
            {"publisherMemoryMb": "10241"},
            "publisherMemoryMb (publisher_memory_mb) must be a whole number of MB"
            " from 128 to 10240, got 10241",
        ),
        (
            {"processorMemoryMb": "1.5"},
            "processorMemoryMb (processor_memory_mb) must be a whole number of MB"
            " from 128 to 10240, got '1.5'",
        ),
        (
            {"processorTimeoutSeconds": "0"},
            "processorTimeoutSeconds (processor_timeout_seconds) must be a whole"
            " number of seconds from 1 to 900, got 0",
        ),
        (
            {"publisherTimeoutSeconds": "901"},
            "publisherTimeoutSeconds (publisher_timeout_seconds) must be a whole"
            " number of seconds from 1 to 900, got 901",
        ),
        (
            {"processorTimeoutSeconds": True},
            "processorTimeoutSeconds (processor_timeout_seconds) must be a whole"
            " number of seconds from 1 to 900, got True",
        ),
        (
            {"notificationPrefix": "a" * 1025},
            "notificationPrefix (notification_prefix) must be at most 1024 characters, got 1025",
        ),
        ({"notificationSuffix": 7}, "notificationSuffix (notification_suffix) must be a string, got 7"),
        (
            {"removalPolicy": "snapshot"},
            "removalPolicy (removal_policy) must be 'destroy' or 'retain', got 'snapshot'",
        ),
        (
            {"existingBucketName": "My_Bucket"},
            "existingBucketName (existing_bucket_name) 'My_Bucket' is invalid:"
            " an S3 bucket name is 3 to 63 lowercase letters",
        ),
        (
            {"existingBucketName": "192.168.1.1"},
            "existingBucketName (existing_bucket_name) '192.168.1.1' is"
            " invalid: an S3 bucket name has no two adjacent dots and is not an IP address",
        ),
        ({"stepPermissions": "[{"}, "stepPermissions (step_permissions) is not JSON"),
        (
            {"stepPermissions": '{"readBucket": "a-bucket"}'},
            "stepPermissions (step_permissions) must be a JSON list of grants",
        ),
        (
            {"stepPermissions": '[{"bucket": "a-bucket"}]'},
            'stepPermissions (step_permissions): {"bucket": "a-bucket"} is neither',
        ),
        (
            {"stepPermissions": '[{"readBucket": "arn:aws:s3:::a-bucket/*"}]'},
            "stepPermissions"
            " (step_permissions): readBucket 'arn:aws:s3:::a-bucket/*' is not a bucket name or S3 bucket ARN",
        ),
        (
            {"stepPermissions": '[{"readBucket": "a-bucket", "list": "yes"}]'},
            "stepPermissions (step_permissions): list must be true or false, got 'yes'",
        ),
        (
            {"stepPermissions": '[{"actions": ["s3:*"], "resources": ["*"]}]'},
            "stepPermissions"
            " (step_permissions): action 's3:*' is not 'service:Action' named in full (no wildcards)",
        ),
        (
            {"stepPermissions": '[{"actions": ["*"], "resources": ["*"]}]'},
            "action '*' is not 'service:Action'",
        ),
        ({"stepPermissions": '[{"actions": [], "resources": ["*"]}]'}, "actions must be a non-empty list"),
        (
            {"stepPermissions": '[{"actions": "sqs:SendMessage", "resources": ["*"]}]'},
            "actions must be a list of strings",
        ),
        (
            {"stepPermissions": '[{"actions": ["sqs:SendMessage"], "resources": ["my-queue"]}]'},
            "resource 'my-queue' is not an ARN or '*'",
        ),
        (
            {"stepPermissions": '[{"actions": ["s3:GetObject"], "resources": ["*", "arn:aws:s3:::b/*"]}]'},
            "'*' already names every resource; give it alone",
        ),
    ],
)
def test_a_value_aws_would_refuse_fails_with_one_line_naming_the_setting(
    context: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingError) as raised:
        PipelineSettings.from_context(context)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_dataclass_checks_its_props_as_the_context_is_checked() -> None:
    with pytest.raises(SettingError, match=re.escape("processorMemoryMb (processor_memory_mb)")):
        PipelineSettings(processor_memory_mb=64)
    with pytest.raises(SettingError, match=re.escape("stepPermissions (step_permissions) must be a list")):
        PipelineSettings(step_permissions=ReadBucket("a-bucket"))  # type: ignore[arg-type]
    with pytest.raises(SettingError, match="is not a ReadBucket or CallService"):
        PipelineSettings(step_permissions=("s3:GetObject",))  # type: ignore[arg-type]
    # A list is taken and kept as a tuple: the settings stay frozen and hashable.
    settings = PipelineSettings(step_permissions=[ReadBucket("a-bucket")])  # type: ignore[arg-type]
    assert settings.step_permissions == (ReadBucket("a-bucket"),)
    assert hash(settings)


def test_step_permissions_read_the_two_shapes_only() -> None:
    assert step_permissions_value("[]") == ()
    assert step_permissions_value(
        [{"actions": ["sqs:SendMessage"], "resources": ["arn:aws:sqs:eu-west-1:123456789012:q"]}]
    ) == (CallService(("sqs:SendMessage",), ("arn:aws:sqs:eu-west-1:123456789012:q",)),)


def test_the_prop_is_taken_whole_over_the_context() -> None:
    app = App(context={"processorMemoryMb": "1024", "removalPolicy": "retain"})

    assert resolve_settings(app, None) == PipelineSettings(processor_memory_mb=1024, removal_policy="retain")
    assert resolve_settings(app, PipelineSettings(publisher_memory_mb=512)) == PipelineSettings(
        publisher_memory_mb=512
    )


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("processormemorymb", "processorMemoryMb"),
        ("RemovalPolicy", "removalPolicy"),
        ("environmentsuffix", "environmentSuffix"),
    ],
)
def test_a_key_differing_from_a_setting_only_in_case_is_refused(key: str, meant: str) -> None:
    with pytest.raises(SettingError, match=re.escape(f"unknown setting {key!r}: did you mean {meant!r}?")):
        resolve_settings(App(context={key: "x"}), None)


def test_app_py_reads_context_arguments_as_the_cdk_cli_does() -> None:
    assert context_arguments([]) == {}
    assert context_arguments(
        [
            "-c",
            "processorMemoryMb=512",
            "--context",
            "notificationPrefix=a=b/",
            "--context=removalPolicy=retain",
        ]
    ) == {"processorMemoryMb": "512", "notificationPrefix": "a=b/", "removalPolicy": "retain"}
    assert context_arguments(["-c", "notificationSuffix=", "-c", "x=1", "-c", "x=2"]) == {
        "notificationSuffix": "",
        "x": "2",
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["synth"], "unknown argument 'synth'; usage: python app.py [-c key=value ...]"),
        (["-c"], "-c needs a key=value after it"),
        (["-c", "processorMemoryMb"], "context argument 'processorMemoryMb' is not key=value"),
        (["-c", "=512"], "context argument '=512' is not key=value"),
        (["-c", "aws:cdk:enable-path-metadata=false"], "context keys starting with 'aws:' are CDK's own"),
    ],
)
def test_anything_but_context_arguments_is_one_error_line(arguments: list[str], message: str) -> None:
    with pytest.raises(SettingError) as raised:
        context_arguments(arguments)
    assert str(raised.value).startswith(message)


def _app_py(
    outdir: Path, *arguments: str, cli_context: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python app.py ...``; ``cli_context`` stands for the context the CDK CLI hands over
    (read as the CLI's, so without the tests' S3FLOW_IGNORE_PROJECT_CONTEXT)."""
    left_out = ("CDK_CONTEXT_JSON", "S3FLOW_IGNORE_PROJECT_CONTEXT")
    environment = {key: value for key, value in os.environ.items() if key not in left_out}
    if cli_context is not None:
        environment["CDK_CONTEXT_JSON"] = json.dumps(cli_context)
    return subprocess.run(
        [sys.executable, "app.py", *arguments],
        cwd=REPO_ROOT,
        env={**environment, "CDK_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_app_py_with_a_bad_context_argument_prints_one_error_line_and_exits_1(tmp_path: Path) -> None:
    result = _app_py(tmp_path, "-c", "processorMemoryMb=64")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: processorMemoryMb (processor_memory_mb) must be a whole number of MB from 128 to 10240,"
        " got 64"
    ], result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing synthesized


def test_app_py_context_arguments_win_over_the_cli_context_and_merge_with_it(tmp_path: Path) -> None:
    # The CLI's own order: a -c value wins over the context the CLI passes (cdk.json's and
    # its -c), and the rest of that context is still read. Both invalid values are the CLI's;
    # the first is overridden by app.py's -c, so the second is the one refused.
    result = _app_py(
        tmp_path,
        "-c",
        "processorMemoryMb=512",
        cli_context={"processorMemoryMb": "64", "publisherMemoryMb": "65"},
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: publisherMemoryMb (publisher_memory_mb) must be a whole number of MB from 128 to 10240,"
        " got 65"
    ], result.stderr
