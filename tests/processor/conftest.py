"""Processor test fixtures: moto-backed AWS, the handler, and recorders of API calls."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.client
import pytest
from moto import mock_aws
from processor_support import (
    BUS,
    TABLE,
    ApiCall,
    ApiRecorder,
    Aws,
    Daemon,
    FakeContext,
    Sleeps,
    Uploads,
    create_table,
    load_event,
)

from s3flow import contract
from s3flow.processor import dependencies as dependencies_module
from s3flow.processor import extension
from s3flow.processor.backoff import Backoff


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> ApiRecorder:
    recorder = ApiRecorder()
    original = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        call = ApiCall(client.meta.service_model.endpoint_prefix, operation, params)
        recorder.calls.append(call)
        response = original(client, operation, params)
        call.response = response
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return recorder


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, sleeps: Sleeps) -> Iterator[Aws]:
    """moto with the table (stream on), and the bus with a catch-all rule feeding an SQS queue.

    The processor only writes the table; the bus and ``EVENT_BUS_NAME`` are for the publisher
    function, which turns the table's stream into events.
    """
    unset = ("_X_AMZN_TRACE_ID", "AWS_ENDPOINT_URL", "AWS_XRAY_DAEMON_ADDRESS", contract.ENV_PROCESSING_STEPS)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    extension.clear_registered_steps()
    monkeypatch.setenv(contract.ENV_TABLE_NAME, TABLE)
    monkeypatch.setenv(contract.ENV_EVENT_BUS_NAME, BUS)
    monkeypatch.setenv(contract.ENV_ENVIRONMENT, "test")
    monkeypatch.setenv(contract.ENV_TIME_INDEX_SHARDS, "4")
    monkeypatch.setattr(dependencies_module, "Backoff", lambda: Backoff(sleep=sleeps))
    dependencies_module.dependencies.cache_clear()
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        events = boto3.client("events")
        sqs = boto3.client("sqs")
        create_table(dynamodb)
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="all-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": [contract.EVENT_SOURCE]})
        )
        events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
        yield Aws(dynamodb=dynamodb, events=events, sqs=sqs, queue_url=queue_url)
    dependencies_module.dependencies.cache_clear()
    extension.clear_registered_steps()


@pytest.fixture
def invoke(aws: Aws) -> Callable[..., dict[str, int]]:
    from s3flow.processor.handler import handler

    def run(event: dict[str, Any] | str, context: FakeContext | None = None) -> dict[str, int]:
        payload = load_event(event) if isinstance(event, str) else event
        return handler(payload, context or FakeContext())

    return run


@pytest.fixture
def uploads(aws: Aws) -> Uploads:
    """A versioned bucket in the same moto as ``aws``."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="uploads-test")
    s3.put_bucket_versioning(Bucket="uploads-test", VersioningConfiguration={"Status": "Enabled"})
    return Uploads(s3=s3, bucket="uploads-test")


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    """A UDP listener standing in for the X-Ray daemon; the processor sends its documents there."""
    listener = Daemon()
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", listener.address)
    yield listener
    listener.socket.close()
