"""Fixtures for the CLI's functional tier (``runner`` is in tests/conftest.py: the unit tier uses it too).

- ``local``: the real local pipeline (synthesized template, moto, Lambda hop) on a free
  port, one per test module; the CLI reads everything from its stack outputs.
- ``fake_stack``: a bare moto server with resources made by hand and a stack registered
  in moto's CloudFormation, for what the pipeline cannot be made to do (a refused invoke).

moto's state is global to the process and a pipeline resets it on start, so both are
module-scoped and a module uses only one of them.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from s3flow.local.pipeline import FlowEvent, LocalPipeline
from s3flow.testing.records_table import create_table_request

STACK = "TapStackcli"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class FakeStack:
    endpoint_url: str
    outputs: dict[str, str]

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=REGION)

    @property
    def args(self) -> list[str]:
        return ["--endpoint-url", self.endpoint_url, "--stack", STACK]


def _create_resources(stack: FakeStack) -> dict[str, str]:
    s3, ddb, logs, sqs = (stack.client(s) for s in ("s3", "dynamodb", "logs", "sqs"))
    bucket, table, group = "cli-bucket", "cli-table", "/aws/events/processing-cli"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ddb.create_table(**create_table_request(table))
    logs.create_log_group(logGroupName=group)
    queue = sqs.create_queue(QueueName="cli-failures")["QueueUrl"]
    return {
        "S3BucketName": bucket,
        "DynamoDBTableName": table,
        "EventLogGroupName": group,
        "FailureQueueUrl": queue,
        "FailureQueueArn": f"arn:aws:sqs:{REGION}:123456789012:cli-failures",
        "LambdaFunctionName": "cli-processor",
        "EventBusName": "processing-events-cli",
    }


def _register_stack(stack: FakeStack, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cli-stack-marker"}}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    stack.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))


@pytest.fixture(scope="module")
def fake_stack() -> Iterator[FakeStack]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        # moto's state is global to the process: start from an empty emulator, as each test expects.
        requests.post(f"http://127.0.0.1:{port}/moto-api/reset", timeout=60).raise_for_status()
        stack = FakeStack(f"http://127.0.0.1:{port}", {})
        outputs = _create_resources(stack)
        _register_stack(stack, outputs)
        yield FakeStack(stack.endpoint_url, outputs)
    finally:
        server.stop()


@pytest.fixture
def stopped_endpoint() -> str:
    """An endpoint where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


REPO_ROOT = Path(__file__).resolve().parents[3]
FAST_RETRIES = (0.2, 0.4)  # Lambda waits minutes between async retries; tests cannot


@dataclass
class Local:
    pipeline: LocalPipeline
    flows: list[FlowEvent]

    @property
    def endpoint_url(self) -> str:
        return self.pipeline.endpoint_url

    @property
    def outputs(self) -> dict[str, str]:
        return self.pipeline.deployment.outputs

    @property
    def args(self) -> list[str]:
        return ["--endpoint-url", self.endpoint_url]

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=REGION)

    def settle(self) -> None:
        assert self.pipeline.wait_idle(60), "the pipeline did not become idle"


@pytest.fixture(scope="module")
def local(synthesized: Path) -> Iterator[Local]:
    flows: list[FlowEvent] = []
    pipeline = LocalPipeline(
        synthesized, "TapStackdev", port=0, concurrency=2, on_flow=flows.append, retry_delays=FAST_RETRIES
    )
    pipeline.start()
    try:
        yield Local(pipeline, flows)
    finally:
        pipeline.stop()
