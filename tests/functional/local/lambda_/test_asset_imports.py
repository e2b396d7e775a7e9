"""Each function runs from its asset: the sandbox imports the handler from the function's asset
folder in the cloud assembly plus what Lambda's Python runtime provides (boto3 and its
dependencies), never from the developer's environment.

Each test writes a small cloud assembly (template, assets manifest, asset folder) and provisions
it on the emulator; a module that only the developer's ``sys.path`` holds stands for a processing
step kept in the developer's own package and left out of the asset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from s3flow import contract
from s3flow.local.cloudformation import provision
from s3flow.local.lambda_.runtime import LambdaRuntime
from s3flow.local.lambda_.sandbox import StartHook
from s3flow.local.pipeline import LocalPipeline
from s3flow.local.server import LocalServer

REGION = "us-east-1"
STACK = "Assets"
ASSET_HASH = "a" * 64

# The asset's handlers. ``probe`` reports what its sandbox can import; ``uses_dev_step`` imports a
# module only the developer's environment has, as a step in the developer's own package would.
PROBE = """
import importlib.util
import os
import sys

import boto3


def handler(event, context):
    return {
        "module_file": __file__,
        "boto3_file": boto3.__file__,
        "importable": {
            name: importlib.util.find_spec(name) is not None
            for name in ("dev_only_step", "moto", "s3flow", "pytest")
        },
        "started_with": os.environ.get("STARTED_WITH"),
        "hook_modules": sorted(name for name in sys.modules if name.startswith("tests")),
    }
"""
USES_DEV_STEP = """
import dev_only_step


def handler(event, context):
    return dev_only_step.run(event)
"""
USES_MISSING = """
import helper_left_out_of_the_asset


def handler(event, context):
    return "unreachable"
"""


def mark_sandbox(argument: str) -> None:
    """A sandbox start hook from the developer's tree (this module): must still run."""
    os.environ["STARTED_WITH"] = argument


def write_assembly(folder: Path, modules: dict[str, str]) -> Path:
    """A cloud assembly with one function per handler module, as the CDK writes one: the template's
    Code names the asset's S3 key; ``<stack>.assets.json`` maps it to ``asset.<hash>/``."""
    asset = folder / f"asset.{ASSET_HASH}"
    asset.mkdir(parents=True)
    for module, source in modules.items():
        (asset / f"{module}.py").write_text(source, encoding="utf-8")
    resources: dict[str, Any] = {
        "Failures": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "failures"}},
    }
    for module in modules:
        resources[f"Fn{module.replace('_', '')}"] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": module,
                "Handler": f"{module}.handler",
                "Runtime": "python3.13",
                "Timeout": 60,
                "Code": {
                    "S3Bucket": {"Fn::Sub": "cdk-assets-${AWS::AccountId}"},
                    "S3Key": f"{ASSET_HASH}.zip",
                },
            },
        }
        resources[f"Config{module.replace('_', '')}"] = {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": f"Fn{module.replace('_', '')}"},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": 2,
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}},
            },
        }
    (folder / f"{STACK}.template.json").write_text(json.dumps({"Resources": resources}), encoding="utf-8")
    manifest = {
        "version": "55.0.0",
        "files": {
            ASSET_HASH: {
                "source": {"path": asset.name, "packaging": "zip"},
                "destinations": {"current": {"bucketName": "cdk-assets", "objectKey": f"{ASSET_HASH}.zip"}},
            }
        },
    }
    (folder / f"{STACK}.assets.json").write_text(json.dumps(manifest), encoding="utf-8")
    return asset


@pytest.fixture
def developer_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``dev_only_step``: importable in the developer's process, in no asset."""
    package = tmp_path / "developer"
    package.mkdir()
    (package / "dev_only_step.py").write_text("def run(event):\n    return 'ran locally'\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(package))
    return "dev_only_step"


@pytest.fixture
def runtimes(server: LocalServer) -> Iterator[list[LambdaRuntime]]:
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    started: list[LambdaRuntime] = []
    yield started
    for runtime in started:
        runtime.stop()


def start_runtime(server: LocalServer, assembly: Path, runtimes: list[LambdaRuntime]) -> LambdaRuntime:
    deployment = provision(assembly, STACK, endpoint_url=server.endpoint_url, region=REGION)
    runtime = LambdaRuntime(
        deployment, endpoint_url=server.endpoint_url, retry_delays=(0.1, 0.2), concurrency=1
    )
    runtime.start()
    runtimes.append(runtime)
    return runtime


def failure_records(server: LocalServer) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", endpoint_url=server.endpoint_url, region_name=REGION)
    url = sqs.get_queue_url(QueueName="failures")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )
    return [json.loads(message["Body"]) for message in messages]


def test_a_module_missing_from_the_asset_fails_every_attempt_as_aws_reports_it_then_the_failure_queue(
    server, runtimes, tmp_path
):
    # GIVEN a function whose handler imports a module its asset does not hold
    write_assembly(tmp_path, {"uses_missing": USES_MISSING})
    runtime = start_runtime(server, tmp_path, runtimes)

    # WHEN S3 invokes it asynchronously
    s3_event = {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "a.txt"}}}]}
    invocation = runtime.enqueue("uses_missing", s3_event)
    assert runtime.wait_idle(60)

    # THEN each attempt failed with Lambda's init error, and the event went to the failure queue
    # after the two retries
    assert invocation.attempts == 3
    assert invocation.last is not None and not invocation.last.ok
    error = invocation.last.payload
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == (
        "Unable to import module 'uses_missing': No module named 'helper_left_out_of_the_asset'"
    )
    [record] = failure_records(server)
    assert record["requestPayload"] == s3_event
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "Runtime.ImportModuleError"


def test_a_module_of_the_developers_environment_is_not_importable_by_the_handler(
    server, runtimes, tmp_path, developer_module
):
    # GIVEN a module the developer's process imports, absent from the asset
    asset = write_assembly(tmp_path, {"probe": PROBE, "uses_dev_step": USES_DEV_STEP})
    runtime = start_runtime(server, tmp_path, runtimes)

    probe = runtime.invoke("probe", {})
    uses_dev_step = runtime.invoke("uses_dev_step", {})

    # THEN the handler came from the asset, boto3 from the runtime's packages, and nothing else
    assert probe.ok, probe.payload
    assert Path(probe.payload["module_file"]).parent == asset
    assert not Path(probe.payload["boto3_file"]).is_relative_to(asset)
    assert probe.payload["importable"] == {
        "dev_only_step": False,
        "moto": False,
        "s3flow": False,
        "pytest": False,
    }
    assert list(asset.rglob("*.pyc")) == []  # the asset stays as synthesized: bytecode is cached elsewhere
    assert not uses_dev_step.ok
    assert uses_dev_step.payload["errorType"] == "Runtime.ImportModuleError"
    assert uses_dev_step.payload["errorMessage"] == (
        f"Unable to import module 'uses_dev_step': No module named '{developer_module}'"
    )


def test_a_start_hook_from_the_developers_tree_runs_without_widening_the_handlers_imports(
    server, runtimes, tmp_path, developer_module
):
    write_assembly(tmp_path, {"probe": PROBE})
    runtime = start_runtime(server, tmp_path, runtimes)

    runtime.set_sandbox_start_hook("probe", StartHook(f"{__name__}:mark_sandbox", "hooked"))
    probe = runtime.invoke("probe", {})

    assert probe.ok, probe.payload
    assert probe.payload["started_with"] == "hooked"
    assert probe.payload["importable"] == {
        "dev_only_step": False,
        "moto": False,
        "s3flow": False,
        "pytest": False,
    }
    assert probe.payload["hook_modules"] == []  # what the hook imported is gone before the handler's import


def test_a_processing_step_kept_outside_the_asset_fails_the_deployed_processor_as_it_would_on_aws(
    synthesized, developer_module
):
    # GIVEN the synthesized stack, its processor configured with a step from the developer's own
    # package (importable here, absent from the asset in cdk.out/)
    processor = "s3-object-processor-dev"
    steps = {contract.ENV_PROCESSING_STEPS: f"{developer_module}:run"}
    pipeline = LocalPipeline(
        synthesized, "TapStackdev", port=0, retry_delays=(0.1, 0.2), environment_overrides={processor: steps}
    )
    pipeline.start()
    try:
        s3 = boto3.client("s3", endpoint_url=pipeline.endpoint_url, region_name=REGION)
        s3.put_object(Bucket=pipeline.deployment.outputs["S3BucketName"], Key="in/a.txt", Body=b"a")
        assert pipeline.wait_idle(60)

        # THEN the step does not import in the processor, and the object is in the failure queue
        sqs = boto3.client("sqs", endpoint_url=pipeline.endpoint_url, region_name=REGION)
        url = pipeline.deployment.outputs["FailureQueueUrl"]
        [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    finally:
        pipeline.stop()
    failure = json.loads(message["Body"])
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["responsePayload"]["errorType"] == "StepConfigurationError"
    assert developer_module in failure["responsePayload"]["errorMessage"]
    assert failure["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "in/a.txt"
