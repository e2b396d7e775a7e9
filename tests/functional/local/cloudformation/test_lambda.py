"""Lambda resource types: recorded for the local runtime, not created in moto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from s3flow import contract
from s3flow.local.cloudformation import MOTO_ACCOUNT_ID, UnsupportedResourceError

from .conftest import REGION, client, deploy, function_template

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


def test_lambda_function_event_invoke_config_and_permission_are_recorded_not_created(
    tmp_path: Path, moto_endpoint: str
) -> None:
    deployment = deploy(tmp_path, moto_endpoint, function_template())

    spec = deployment.functions["processor"]
    assert spec.arn == f"arn:aws:lambda:{REGION}:{MOTO_ACCOUNT_ID}:function:processor"
    assert spec.environment == {"TABLE": "records", "SHARDS": "4"}
    assert (spec.handler, spec.runtime, spec.timeout_seconds, spec.memory_mb) == (
        contract.HANDLER,
        "python3.13",
        300,
        256,
    )
    assert spec.tracing_active and spec.reserved_concurrency == 4
    assert spec.log_group == "/aws/lambda/processor-logs"
    assert spec.async_config.maximum_retry_attempts == 1
    assert spec.async_config.maximum_event_age_seconds == 600
    assert spec.async_config.on_failure_arn == f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT_ID}:failures"
    assert deployment.function_by_arn(spec.arn) is spec
    assert set(deployment.physical_ids) >= {"Async", "Permission"}
    assert client("lambda", moto_endpoint).list_functions()["Functions"] == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"DeadLetterConfig": {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq"}}, "DeadLetterConfig"),
        ({"PackageType": "Image"}, "only zip-packaged functions"),
    ],
)
def test_functions_the_local_runtime_cannot_honour_are_errors(
    tmp_path: Path, moto_endpoint: str, extra: dict[str, Any], message: str
) -> None:
    resources = function_template()
    resources["Fn"]["Properties"].update(extra)
    with pytest.raises(UnsupportedResourceError, match=message):
        deploy(tmp_path, moto_endpoint, resources)
