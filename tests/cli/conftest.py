"""A stand-in for the deployed stack: a moto server with the resources made by hand and
a stack registered in moto's CloudFormation whose outputs name them, so the CLI reads
everything from stack outputs exactly as it does locally and on AWS."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from s3flow import contract

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
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in (
                contract.TABLE_PARTITION_KEY,
                contract.TABLE_SORT_KEY,
                contract.TIME_INDEX_PARTITION_KEY,
            )
        ],
        KeySchema=[
            {"AttributeName": contract.TABLE_PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": contract.TABLE_SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": contract.TIME_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": contract.TIME_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": contract.TIME_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
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


@pytest.fixture(scope="session")
def fake_stack() -> Iterator[FakeStack]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        stack = FakeStack(f"http://127.0.0.1:{port}", {})
        outputs = _create_resources(stack)
        _register_stack(stack, outputs)
        yield FakeStack(stack.endpoint_url, outputs)
    finally:
        server.stop()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def stopped_endpoint() -> str:
    """An endpoint where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"
