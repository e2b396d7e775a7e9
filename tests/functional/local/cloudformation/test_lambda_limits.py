"""Function settings Lambda refuses at CreateFunction fail provisioning, naming the function and
the property, as the stack's creation fails on AWS: an environment over 4 KB in aggregate, a
MemorySize, Timeout or EphemeralStorage.Size out of range
(docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html,
docs.aws.amazon.com/lambda/latest/dg/API_CreateFunction.html)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from s3flow.local.cloudformation import TemplateError

from .conftest import deploy, function_template

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")

FUNCTION = "AWS::Lambda::Function Fn (processor): "


def with_properties(**properties: Any) -> dict[str, Any]:
    resources = function_template()
    resources["Fn"]["Properties"].update(properties)
    return resources


def environment_of_size(total_bytes: int) -> dict[str, Any]:
    """Variables whose keys and values add up to ``total_bytes``."""
    key = "STEPS"
    return {"Variables": {key: "x" * (total_bytes - len(key))}}


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        (
            {"Environment": environment_of_size(4097)},
            "Environment variables total 4097 bytes, over Lambda's 4096",
        ),
        (
            {"Environment": {"Variables": {"A": "é" * 2048}}},  # 2 bytes a character in UTF-8
            "Environment variables total 4097 bytes",
        ),
        ({"MemorySize": 127}, "MemorySize 127 is not 128 to 10240 MB"),
        ({"MemorySize": 10241}, "MemorySize 10241 is not 128 to 10240 MB"),
        ({"Timeout": 0}, "Timeout 0 is not 1 to 900 seconds"),
        ({"Timeout": 901}, "Timeout 901 is not 1 to 900 seconds"),
        ({"EphemeralStorage": {"Size": 511}}, "EphemeralStorage.Size 511 is not 512 to 10240 MB"),
        ({"EphemeralStorage": {"Size": 10241}}, "EphemeralStorage.Size 10241 is not 512 to 10240 MB"),
    ],
)
def test_settings_create_function_refuses_fail_naming_the_function_and_property(
    tmp_path: Path, moto_endpoint: str, properties: dict[str, Any], message: str
) -> None:
    with pytest.raises(TemplateError) as raised:
        deploy(tmp_path, moto_endpoint, with_properties(**properties))

    text = str(raised.value)
    assert text.startswith(FUNCTION)
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize(
    "properties",
    [
        {"Environment": environment_of_size(4096), "MemorySize": 128, "Timeout": 1},
        {"MemorySize": 10240, "Timeout": 900, "EphemeralStorage": {"Size": 512}},
        {"EphemeralStorage": {"Size": 10240}},
    ],
)
def test_settings_at_lambdas_bounds_are_accepted(
    tmp_path: Path, moto_endpoint: str, properties: dict[str, Any]
) -> None:
    deployment = deploy(tmp_path, moto_endpoint, with_properties(**properties))

    assert "processor" in deployment.functions
