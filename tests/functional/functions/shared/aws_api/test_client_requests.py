"""``JsonApiClient`` against a scripted server: requests as botocore builds and signs them,
credentials, observers and call interceptors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.handlers
import botocore.parsers
import pytest
from botocore.config import Config

from s3flow.functions.shared.aws_api import client as client_module
from s3flow.functions.shared.aws_api.client import USER_AGENT, JsonApiClient
from s3flow.functions.shared.aws_api.errors import ApiCallError
from s3flow.functions.shared.aws_api.services import DYNAMODB, EVENTBRIDGE, SQS, Service
from s3flow.functions.shared.errors import ConfigurationError
from support.signing import ACCESS_KEY, REGION, SECRET_KEY

from .support import Observed, Reply, ScriptedServer, base_environ, error_reply

SIGNED = ["content-type", "host", "x-amz-date", "x-amz-target"]


@pytest.mark.parametrize(
    ("service", "operation", "boto_method", "params", "content_type", "target"),
    [
        (DYNAMODB, "PutItem", "put_item", {"TableName": "t", "Item": {"pk": {"S": "é"}}},
         "application/x-amz-json-1.0", "DynamoDB_20120810.PutItem"),
        (EVENTBRIDGE, "PutEvents", "put_events",
         {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]},
         "application/x-amz-json-1.1", "AWSEvents.PutEvents"),
        (SQS, "SendMessageBatch", "send_message_batch",
         {"QueueUrl": "http://q.test/1/q", "Entries": [{"Id": "1", "MessageBody": "b"}]},
         "application/x-amz-json-1.0", "AmazonSQS.SendMessageBatch"),
    ],
    ids=["dynamodb", "eventbridge", "sqs"],
)  # fmt: skip
def test_content_type_and_target_are_botocores(
    server: ScriptedServer,
    clients,
    service: Service,
    operation: str,
    boto_method: str,
    params: dict[str, Any],
    content_type: str,
    target: str,
) -> None:
    clients(service, server.url).call(operation, params)
    botocore_client = boto3.client(
        service.signing_name,
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1}),
    )
    getattr(botocore_client, boto_method)(**params)

    ours, theirs = server.received
    assert (ours.header("Content-Type"), ours.header("X-Amz-Target")) == (content_type, target)
    assert (theirs.header("Content-Type"), theirs.header("X-Amz-Target")) == (content_type, target)
    assert json.loads(ours.body) == params


@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH+token="])
def test_requests_are_signed_as_botocore_signs_them(
    server: ScriptedServer, observed, token: str | None
) -> None:
    environ = {**base_environ(f"{server.url}/moto/"), **({"AWS_SESSION_TOKEN": token} if token else {})}
    client = JsonApiClient(
        DYNAMODB,
        environ=environ,
        clock=lambda: datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
    )
    try:
        client.call("PutItem", {"TableName": "t", "Item": {"name": {"S": "ü ✓"}}})
    finally:
        client.close()

    [request] = server.received
    assert request.path == "/moto/"
    assert request.header("X-Amz-Date") == "20240229T235959Z"
    assert request.header("X-Amz-Security-Token") == token
    assert request.header("User-Agent") == USER_AGENT
    assert request.signed_header_names() == sorted([*SIGNED, *(["x-amz-security-token"] if token else [])])
    assert request.header("Authorization") == request.botocore_authorization()
    assert "/20240229/us-east-1/dynamodb/aws4_request," in (request.header("Authorization") or "")


TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a8:0|é x"


@pytest.mark.parametrize(
    ("lambda_environ", "sent"),
    [
        ({"AWS_LAMBDA_FUNCTION_NAME": "publisher", "_X_AMZN_TRACE_ID": TRACE_ID}, True),
        ({"AWS_LAMBDA_FUNCTION_NAME": "", "_X_AMZN_TRACE_ID": TRACE_ID}, True),
        ({"AWS_LAMBDA_FUNCTION_NAME": "publisher"}, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "publisher", "_X_AMZN_TRACE_ID": ""}, False),
        ({"_X_AMZN_TRACE_ID": TRACE_ID}, False),
        ({}, False),
    ],
)
def test_the_recursion_detection_header_is_botocores_and_unsigned(
    server: ScriptedServer,
    clients,
    monkeypatch: pytest.MonkeyPatch,
    lambda_environ: dict[str, str],
    sent: bool,
) -> None:
    for name in ("AWS_LAMBDA_FUNCTION_NAME", "_X_AMZN_TRACE_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in lambda_environ.items():
        monkeypatch.setenv(name, value)
    botocore_request: dict[str, Any] = {"headers": {}}
    botocore.handlers.add_recursion_detection_header(botocore_request)

    clients(SQS, server.url, **lambda_environ).call("SendMessageBatch", {})

    [request] = server.received
    assert request.header("X-Amzn-Trace-Id") == botocore_request["headers"].get("X-Amzn-Trace-Id")
    assert (request.header("X-Amzn-Trace-Id") is not None) is sent
    assert request.signed_header_names() == SIGNED
    assert request.header("Authorization") == request.botocore_authorization()


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"AWS_ACCESS_KEY_ID": ACCESS_KEY},
        {"AWS_SECRET_ACCESS_KEY": SECRET_KEY},
        {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": SECRET_KEY},
    ],
)
def test_missing_credentials_are_a_configuration_error(
    server: ScriptedServer, observed, credentials: dict[str, str]
) -> None:
    environ = {"AWS_REGION": REGION, "AWS_ENDPOINT_URL": server.url, "AWS_SESSION_TOKEN": "t", **credentials}
    client = JsonApiClient(DYNAMODB, environ=environ)
    client.observers.append(observed)

    with pytest.raises(ConfigurationError, match="no AWS credentials"):
        client.call("PutItem", {})

    assert server.received == []


def test_every_observer_hears_of_every_call(server: ScriptedServer, clients, observed) -> None:
    server.then(Reply(), error_reply(500, "InternalError"), error_reply(400, "ValidationException"))
    client = clients(DYNAMODB, server.url)
    second = Observed()
    client.observers.append(second)

    client.call("PutItem", {})
    with pytest.raises(ApiCallError) as raised:
        client.call("UpdateItem", {})

    expected = [("dynamodb", "PutItem", 1, None), ("dynamodb", "UpdateItem", 2, raised.value)]
    assert observed.calls == second.calls == expected


def test_call_interceptors_wrap_every_call_of_every_client_until_removed(
    server: ScriptedServer, clients, observed
) -> None:
    # GIVEN two interceptors, the later one outermost, on the process's clients
    server.then(Reply(body=b'{"n": 1}'), Reply(body=b'{"n": 2}'))
    seen: list[str] = []

    def inner(client: JsonApiClient, operation: str, params: dict[str, Any], proceed: Any) -> dict[str, Any]:
        seen.append(f"inner {client.service.signing_name}:{operation} {params}")
        return {**proceed(), "inner": True}

    def outer(client: JsonApiClient, operation: str, params: dict[str, Any], proceed: Any) -> dict[str, Any]:
        seen.append(f"outer {operation}")
        answer = proceed()
        seen.append(f"outer saw {answer}")
        return answer

    client = clients(DYNAMODB, server.url)
    client_module.add_call_interceptor(inner)
    client_module.add_call_interceptor(outer)
    try:
        # WHEN a call is made
        answer = client.call("PutItem", {"k": 1})
    finally:
        client_module.remove_call_interceptor(outer)
        client_module.remove_call_interceptor(inner)
    # THEN each saw it around the real call; once removed, a call goes straight through
    after = client.call("PutItem", {})

    assert answer == {"n": 1, "inner": True}
    assert seen == ["outer PutItem", "inner dynamodb:PutItem {'k': 1}", "outer saw {'n': 1, 'inner': True}"]
    assert after == {"n": 2}
    assert observed.calls == [("dynamodb", "PutItem", 1, None), ("dynamodb", "PutItem", 1, None)]
