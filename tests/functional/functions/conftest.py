"""The functions' functional tier: a moto server as AWS, the handler, and recorders of API calls.

A server, not moto's in-process mock: the functions call AWS over ``http.client``
(``s3flow.functions.shared.aws_api``), which only a real endpoint answers.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.client
import pytest
from moto.server import ThreadedMotoServer

from s3flow import contract
from s3flow.functions.processor import dependencies as dependencies_module
from s3flow.functions.processor.steps import registry as extension
from s3flow.functions.shared.aws_api import JsonApiClient
from s3flow.functions.shared.backoff import Backoff
from support.functions import BUS, TABLE, FakeContext, Sleeps, load_event

from .support import ApiCall, ApiRecorder, Aws, Daemon, Uploads, create_table


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> ApiRecorder:
    """Every call the functions' clients (``JsonApiClient``) and any botocore client make."""
    recorder = ApiRecorder()
    original_botocore = botocore.client.BaseClient._make_api_call
    original_json = JsonApiClient.call

    def record(service: str, operation: str, params: dict[str, Any], send: Callable[[], Any]) -> Any:
        call = ApiCall(service, operation, params)
        recorder.calls.append(call)
        call.response = send()
        return call.response

    def recording_botocore(client: Any, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.endpoint_prefix
        return record(service, operation, params, lambda: original_botocore(client, operation, params))

    def recording_json(client: JsonApiClient, operation: str, params: dict[str, Any]) -> Any:
        service = client.service.signing_name
        return record(service, operation, params, lambda: original_json(client, operation, params))

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording_botocore)
    monkeypatch.setattr(JsonApiClient, "call", recording_json)
    return recorder


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, sleeps: Sleeps, moto_endpoint: str) -> Iterator[Aws]:
    """A fresh moto with the table (stream on), and the bus with a catch-all rule feeding a queue.

    The processor only writes the table; the bus and ``EVENT_BUS_NAME`` are for the publisher
    function, which turns the table's stream into events.
    """
    unset = (
        "_X_AMZN_TRACE_ID",
        "AWS_XRAY_DAEMON_ADDRESS",
        "AWS_LAMBDA_FUNCTION_NAME",
        contract.ENV_PROCESSING_STEPS,
    )
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    for name in [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).close()
    extension.clear_registered_steps()
    monkeypatch.setenv(contract.ENV_TABLE_NAME, TABLE)
    monkeypatch.setenv(contract.ENV_EVENT_BUS_NAME, BUS)
    monkeypatch.setenv(contract.ENV_ENVIRONMENT, "test")
    monkeypatch.setenv(contract.ENV_TIME_INDEX_SHARDS, "4")
    monkeypatch.setattr(dependencies_module, "Backoff", lambda: Backoff(sleep=sleeps))
    dependencies_module.dependencies.cache_clear()
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
    from s3flow.functions.processor.handler import handler

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
