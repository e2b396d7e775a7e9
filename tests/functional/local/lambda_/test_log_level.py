"""The function's application log level, as Lambda gives it: ``LoggingConfig.ApplicationLogLevel``
(only with ``LogFormat: JSON``) becomes ``AWS_LAMBDA_LOG_LEVEL`` in the sandbox, over any value
the template's own ``Environment`` gives it.

The handler below runs in the sandboxes (a fresh interpreter that imports this module by name).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from s3flow.local.cloudformation import TemplateError, provision_template
from s3flow.local.deployment import Deployment
from s3flow.local.lambda_.invocation import sandbox_environment
from s3flow.local.lambda_.runtime import LambdaRuntime
from s3flow.local.server import LocalServer

REGION = "us-east-1"
LEVEL = "AWS_LAMBDA_LOG_LEVEL"


def log_lines(event: dict[str, Any], context: Any) -> str:
    from s3flow.functions.shared.observability import logs

    logger = logs.configure()
    logger.debug("debug line")
    logger.info("info line")
    return "done"


def function(name: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": name,
            "Handler": f"{__name__}.log_lines",
            "Runtime": "python3.13",
            "Code": {"ZipFile": "unused locally"},
            **properties,
        },
    }


@pytest.fixture
def endpoint(server: LocalServer) -> str:
    """The module's emulator, emptied of whatever earlier tests created."""
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    return server.endpoint_url


def deploy(endpoint: str, resources: dict[str, Any]) -> Deployment:
    return provision_template({"Resources": resources}, "Levels", endpoint_url=endpoint, region=REGION)


def environment(deployment: Deployment, name: str) -> dict[str, str]:
    spec = deployment.functions[name]
    return sandbox_environment(spec, region=REGION, endpoint_url="http://emulator", xray_daemon_address=None)


def test_application_log_level_is_the_sandboxs_aws_lambda_log_level_and_absent_without_it(
    endpoint: str,
) -> None:
    deployment = deploy(
        endpoint,
        {
            "Debug": function(
                "debug",
                LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "WARN"},
            ),
            "Warn": function("warn", LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"}),
            "JsonOnly": function("json-only", LoggingConfig={"LogFormat": "JSON"}),
            "GroupOnly": function("group-only", LoggingConfig={"LogGroup": "/custom/group-only"}),
            # SystemLogLevel alone is ignored, whatever the format
            "SystemOnly": function("system-only", LoggingConfig={"SystemLogLevel": "DEBUG"}),
            "Plain": function("plain"),
            # AWS does not list AWS_LAMBDA_LOG_LEVEL as reserved: a template's value is kept,
            # and LoggingConfig's level, which Lambda sets last, wins over it
            "Own": function("own", Environment={"Variables": {LEVEL: "ERROR"}}),
            "Both": function(
                "both",
                Environment={"Variables": {LEVEL: "ERROR"}},
                LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"},
            ),
        },
    )

    assert deployment.functions["debug"].application_log_level == "DEBUG"
    assert environment(deployment, "debug")[LEVEL] == "DEBUG"
    assert environment(deployment, "warn")[LEVEL] == "WARN"
    for name in ("json-only", "group-only", "system-only", "plain"):
        assert deployment.functions[name].application_log_level is None
        assert LEVEL not in environment(deployment, name)
    assert deployment.functions["group-only"].log_group == "/custom/group-only"
    assert environment(deployment, "own")[LEVEL] == "ERROR"
    assert environment(deployment, "both")[LEVEL] == "DEBUG"


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        (
            {"LoggingConfig": {"LogFormat": "Text", "ApplicationLogLevel": "DEBUG"}},
            "LoggingConfig ApplicationLogLevel DEBUG needs LogFormat JSON, not Text",
        ),
        (
            {"LoggingConfig": {"ApplicationLogLevel": "DEBUG"}},  # Text is the default format
            "LoggingConfig ApplicationLogLevel DEBUG needs LogFormat JSON, not Text",
        ),
        (
            {"LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "VERBOSE"}},
            "ApplicationLogLevel VERBOSE is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL",
        ),
        (
            {"Environment": {"Variables": {"AWS_REGION": "eu-west-1", "_HANDLER": "x.y"}}},
            "Environment sets AWS_REGION, _HANDLER, reserved by Lambda",
        ),
    ],
)
def test_log_level_settings_lambda_rejects_fail_naming_the_function(
    endpoint: str, properties: dict[str, Any], message: str
) -> None:
    with pytest.raises(TemplateError) as raised:
        deploy(endpoint, {"Fn": function("processor", **properties)})

    text = str(raised.value)
    assert text.startswith("AWS::Lambda::Function Fn (processor): ")
    assert message in text
    assert "\n" not in text


@pytest.fixture
def runtime(endpoint: str) -> Iterator[LambdaRuntime]:
    deployment = deploy(
        endpoint,
        {
            "Debug": function("debug", LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"}),
            "Default": function("default"),
        },
    )
    started = LambdaRuntime(deployment, endpoint_url=endpoint)
    started.start()
    yield started
    started.stop()


def test_a_function_at_debug_writes_its_debug_lines_and_one_without_a_level_does_not(
    endpoint: str, runtime: LambdaRuntime
) -> None:
    for name in ("debug", "default"):
        outcome = runtime.invoke(name, {})
        assert outcome.ok and outcome.payload == "done"

    logs = boto3.client("logs", endpoint_url=endpoint, region_name=REGION)

    def levels(name: str) -> dict[str, str]:
        """message -> level of the function's JSON lines, once its last line (INFO) is in."""
        deadline = time.monotonic() + 10
        found: dict[str, str] = {}
        while time.monotonic() < deadline and "info line" not in found:
            time.sleep(0.05)
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
            lines = [json.loads(e["message"]) for e in events if e["message"].startswith("{")]
            found = {line["message"]: line["level"] for line in lines}
        return found

    assert levels("debug") == {"debug line": "DEBUG", "info line": "INFO"}
    assert levels("default") == {"info line": "INFO"}
