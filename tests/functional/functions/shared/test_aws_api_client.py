"""``JsonApiClient`` against a moto server, and against a scripted server for what moto never does."""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.handlers
import botocore.parsers
import pytest
from botocore.config import Config

from s3flow.functions.shared.aws_api import client as client_module
from s3flow.functions.shared.aws_api.client import TRANSPORT_ERROR, USER_AGENT, JsonApiClient
from s3flow.functions.shared.aws_api.errors import CRC32_MISMATCH, ApiCallError
from s3flow.functions.shared.aws_api.services import DYNAMODB, EVENTBRIDGE, SQS, Service
from s3flow.functions.shared.backoff import Backoff
from s3flow.functions.shared.errors import ConfigurationError
from support.signing import ACCESS_KEY, REGION, SECRET_KEY

from .aws_api_support import Observed, Reply, ScriptedServer, TlsAuthority, crc32, tls_authority

SIGNED = ["content-type", "host", "x-amz-date", "x-amz-target"]


def base_environ(url: str) -> dict[str, str]:
    return {
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_ENDPOINT_URL": url,
    }


@pytest.fixture(autouse=True)
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Pauses a client with the default backoff would have slept (it sleeps none here)."""
    recorded: list[float] = []
    monkeypatch.setattr(
        client_module, "Backoff", lambda attempts: Backoff(attempts=attempts, sleep=recorded.append)
    )
    return recorded


@pytest.fixture
def observed() -> Observed:
    return Observed()


@pytest.fixture
def clients(observed: Observed) -> Iterator[Callable[..., JsonApiClient]]:
    """``make(service, url, backoff=..., **environ)``: a client whose calls ``observed`` records."""
    made: list[JsonApiClient] = []

    def make(service: Service, url: str, backoff: Backoff | None = None, **environ: str) -> JsonApiClient:
        client = JsonApiClient(service, environ={**base_environ(url), **environ}, backoff=backoff)
        client.observers.append(observed)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


# --- against moto -------------------------------------------------------------------------------


@pytest.fixture
def moto_url(moto_endpoint: str) -> str:
    return moto_endpoint  # the processor tests' moto server (conftest.py)


def boto(service_name: str, url: str) -> Any:
    return boto3.client(
        service_name,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def table(moto_url: str) -> str:
    name = f"records-{uuid.uuid4().hex[:8]}"
    boto("dynamodb", moto_url).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def test_put_item_writes_what_boto3_reads_back(moto_url: str, table: str, clients, observed) -> None:
    item = {
        "pk": {"S": "façade/ключ ✓"},
        "size": {"N": "12345678901234567890"},
        "digest": {"B": base64.b64encode(b"\x00\xff binary").decode()},
        "tags": {"L": [{"S": "a"}, {"M": {"nested": {"BOOL": True}}}]},
    }
    dynamodb = clients(DYNAMODB, moto_url)

    assert dynamodb.call("PutItem", {"TableName": table, "Item": item}) == {}
    ours = dynamodb.call("GetItem", {"TableName": table, "Key": {"pk": item["pk"]}})

    stored = boto("dynamodb", moto_url).get_item(TableName=table, Key={"pk": {"S": "façade/ключ ✓"}})["Item"]
    assert stored["digest"] == {"B": b"\x00\xff binary"}
    assert stored["size"] == {"N": "12345678901234567890"}
    assert stored["tags"] == item["tags"]
    assert ours == {"Item": item}
    assert observed.calls == [("dynamodb", "PutItem", 1, None), ("dynamodb", "GetItem", 1, None)]


def test_a_failed_condition_returns_the_stored_item(moto_url: str, table: str, clients, observed) -> None:
    dynamodb = clients(DYNAMODB, moto_url)
    first = {"pk": {"S": "k"}, "size": {"N": "1"}}
    put = {
        "TableName": table,
        "ConditionExpression": "attribute_not_exists(pk)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    dynamodb.call("PutItem", {**put, "Item": first})

    with pytest.raises(ApiCallError) as raised:
        dynamodb.call("PutItem", {**put, "Item": {"pk": {"S": "k"}, "size": {"N": "2"}}})

    error = raised.value
    assert (error.operation, error.code, error.status) == ("PutItem", "ConditionalCheckFailedException", 400)
    assert error.response["Item"] == first
    assert not error.retryable
    assert observed.calls[-1] == ("dynamodb", "PutItem", 1, error)


def test_a_missing_table_is_not_retried(moto_url: str, clients, observed, pauses) -> None:
    with pytest.raises(ApiCallError) as raised:
        clients(DYNAMODB, moto_url).call(
            "PutItem", {"TableName": "no-such-table", "Item": {"pk": {"S": "k"}}}
        )

    assert (raised.value.code, raised.value.status) == ("ResourceNotFoundException", 400)
    assert observed.calls == [("dynamodb", "PutItem", 1, raised.value)]
    assert pauses == []


def test_put_events_reaches_the_bus(moto_url: str, clients, observed) -> None:
    bus = f"bus-{uuid.uuid4().hex[:8]}"
    events, sqs = boto("events", moto_url), boto("sqs", moto_url)
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName=bus)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["s3flow.test"]}))
    events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    detail = {"key": "uploads/résumé ✓.pdf", "size": 3}

    response = clients(EVENTBRIDGE, moto_url).call(
        "PutEvents",
        {
            "Entries": [
                {
                    "EventBusName": bus,
                    "Source": "s3flow.test",
                    "DetailType": "Object Processed",
                    "Detail": json.dumps(detail),
                }
            ]
        },
    )

    assert response["FailedEntryCount"] == 0 and response["Entries"][0]["EventId"]
    [message] = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    delivered = json.loads(message["Body"])
    assert (delivered["source"], delivered["detail-type"], delivered["detail"]) == (
        "s3flow.test",
        "Object Processed",
        detail,
    )
    assert observed.calls == [("events", "PutEvents", 1, None)]


def test_send_message_batch_lands_in_the_queue(moto_url: str, clients) -> None:
    sqs = boto("sqs", moto_url)
    queue_url = sqs.create_queue(QueueName=f"failures-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    bodies = {"1": json.dumps({"key": "a ✓"}, ensure_ascii=False), "2": "plain <text> & more"}

    response = clients(SQS, moto_url).call(
        "SendMessageBatch",
        {
            "QueueUrl": queue_url,
            "Entries": [
                {
                    "Id": entry_id,
                    "MessageBody": body,
                    "MessageAttributes": {
                        "reason": {"DataType": "String", "StringValue": f"reason {entry_id}"}
                    },
                }
                for entry_id, body in bodies.items()
            ],
        },
    )

    assert sorted(entry["Id"] for entry in response["Successful"]) == ["1", "2"]
    assert not response.get("Failed")
    for entry in response["Successful"]:
        assert entry["MD5OfMessageBody"] == hashlib.md5(bodies[entry["Id"]].encode()).hexdigest()
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    received = {(m["Body"], m["MessageAttributes"]["reason"]["StringValue"]) for m in messages["Messages"]}
    assert received == {(bodies["1"], "reason 1"), (bodies["2"], "reason 2")}


def test_a_missing_queue_is_queue_does_not_exist(moto_url: str, clients, observed) -> None:
    with pytest.raises(ApiCallError) as raised:
        clients(SQS, moto_url).call(
            "SendMessageBatch",
            {
                "QueueUrl": f"{moto_url}/123456789012/no-such-queue",
                "Entries": [{"Id": "1", "MessageBody": "x"}],
            },
        )

    assert (raised.value.code, raised.value.status, raised.value.retryable) == (
        "QueueDoesNotExist",
        400,
        False,
    )
    assert observed.calls == [("sqs", "SendMessageBatch", 1, raised.value)]


# --- against a scripted server ------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.stop()


def error_reply(status: int, code: str, message: str = "message", key: str = "message") -> Reply:
    return Reply(status, json.dumps({"__type": code, key: message}).encode())


def test_server_errors_are_retried_after_backoff_pauses(server: ScriptedServer, clients, observed) -> None:
    slept: list[float] = []
    backoff = Backoff(attempts=4, base_seconds=0.1, cap_seconds=0.3, sleep=slept.append, rng=lambda: 1.0)
    server.then(
        error_reply(500, "InternalServerError"),
        Reply(503, b""),
        error_reply(500, "com.amazonaws.dynamodb.v20120810#InternalServerError"),
        Reply(200, b'{"ConsumedCapacity":{"TableName":"t"}}'),
    )

    response = clients(DYNAMODB, server.url, backoff=backoff).call("PutItem", {"TableName": "t"})

    assert response == {"ConsumedCapacity": {"TableName": "t"}}
    assert slept == [0.1, 0.2, 0.3]
    assert [json.loads(request.body) for request in server.received] == [{"TableName": "t"}] * 4
    assert observed.calls == [("dynamodb", "PutItem", 4, None)]


@pytest.mark.parametrize("service", [DYNAMODB, EVENTBRIDGE, SQS], ids=lambda service: service.signing_name)
def test_attempts_stop_at_the_services_budget(
    server: ScriptedServer, clients, observed, pauses, service
) -> None:
    server.default = error_reply(500, "InternalFailure", "try later")

    with pytest.raises(ApiCallError) as raised:
        clients(service, server.url).call("Operation", {})

    error = raised.value
    assert (error.code, error.message, error.status, error.retryable) == (
        "InternalFailure",
        "try later",
        500,
        True,
    )
    assert len(server.received) == service.max_attempts == {DYNAMODB: 10, EVENTBRIDGE: 5, SQS: 5}[service]
    assert len(pauses) == service.max_attempts - 1
    assert observed.calls == [(service.signing_name, "Operation", service.max_attempts, error)]


@pytest.mark.parametrize(
    "reply",
    [
        error_reply(400, "com.amazon.coral.availability#ThrottlingException", "Rate exceeded"),
        error_reply(400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"),
        error_reply(400, "ThrottlingException", key="Message"),
        error_reply(429, "com.amazonaws.sqs#RequestThrottled"),
        Reply(429, b""),
    ],
    ids=["throttling", "provisioned-throughput", "bare-code", "sqs-throttled", "429-no-body"],
)
def test_throttling_is_retried(server: ScriptedServer, clients, observed, pauses, reply: Reply) -> None:
    server.then(reply, reply)

    assert clients(DYNAMODB, server.url).call("PutItem", {}) == {}
    assert len(server.received) == 3
    assert len(pauses) == 2
    assert observed.calls == [("dynamodb", "PutItem", 3, None)]


@pytest.mark.parametrize("key", ["message", "Message"])
def test_a_validation_error_is_not_retried(
    server: ScriptedServer, clients, observed, pauses, key: str
) -> None:
    server.then(error_reply(400, "com.amazon.coral.validate#ValidationException", "1 validation error", key))

    with pytest.raises(ApiCallError) as raised:
        clients(DYNAMODB, server.url).call("PutItem", {})

    assert (raised.value.code, raised.value.message, raised.value.status) == (
        "ValidationException",
        "1 validation error",
        400,
    )
    assert not raised.value.retryable
    assert len(server.received) == 1 and pauses == []
    assert observed.calls == [("dynamodb", "PutItem", 1, raised.value)]


@pytest.mark.parametrize(
    "document",
    [
        {"__type": "com.amazon.coral.validate#ValidationException", "message": "bad"},
        {"__type": "ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/"},
        {"__type": "com.amazon.coral.service#UnrecognizedClientException", "Message": "bad token"},
        {"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "gone", "Message": "gone too"},
        {"__type": "AccessDeniedException", "Message": "no", "message": "also no"},
        {"Message": "no type"},
    ],
)
def test_error_codes_and_messages_are_botocores(
    server: ScriptedServer, clients, document: dict[str, Any]
) -> None:
    body = json.dumps(document).encode()
    server.then(Reply(403, body))

    with pytest.raises(ApiCallError) as raised:
        clients(EVENTBRIDGE, server.url).call("PutEvents", {})

    parsed = botocore.parsers.JSONParser().parse({"status_code": 403, "headers": {}, "body": body}, None)
    expected_code = parsed["Error"]["Code"] if "__type" in document else "HTTP403"
    assert (raised.value.code, raised.value.message) == (expected_code, parsed["Error"]["Message"])
    assert raised.value.response == document


def test_a_non_json_error_body_is_kept_as_the_message(server: ScriptedServer, clients, observed) -> None:
    server.then(Reply(502, b"<html><body>Bad Gateway</body></html>", {"Content-Type": "text/html"}))
    server.then(Reply(400, b"\xffnot json at all", {"Content-Type": "text/plain"}))

    with pytest.raises(ApiCallError) as raised:
        clients(DYNAMODB, server.url).call("PutItem", {})

    assert (raised.value.code, raised.value.status) == ("HTTP400", 400)
    assert "not json at all" in raised.value.message
    assert raised.value.response == {"message": raised.value.message}
    assert observed.calls == [("dynamodb", "PutItem", 2, raised.value)]  # the 502 was retried


@pytest.mark.parametrize("drop", ["before", "mid", "hang"])
def test_a_lost_response_is_retried_on_a_new_connection(
    server: ScriptedServer, clients, observed, pauses, monkeypatch: pytest.MonkeyPatch, drop: str
) -> None:
    monkeypatch.setattr(client_module, "TIMEOUT_SECONDS", 0.5)
    server.then(
        Reply(200, b'{"Entries":[{"EventId":"1"}]}', drop=drop), Reply(200, b'{"FailedEntryCount":0}')
    )

    assert clients(EVENTBRIDGE, server.url).call("PutEvents", {"Entries": []}) == {"FailedEntryCount": 0}
    assert server.connections == [1, 2]
    assert len(pauses) == 1
    assert observed.calls == [("events", "PutEvents", 2, None)]


def test_no_answer_at_all_is_a_retryable_transport_error(server: ScriptedServer, clients, observed) -> None:
    server.default = Reply(drop="before")

    with pytest.raises(ApiCallError) as raised:
        clients(SQS, server.url).call("SendMessageBatch", {})

    assert (raised.value.code, raised.value.status, raised.value.retryable) == (TRANSPORT_ERROR, None, True)
    assert server.connections == [1, 2, 3, 4, 5]
    assert observed.calls == [("sqs", "SendMessageBatch", 5, raised.value)]


def test_dynamodb_retries_a_body_that_fails_its_crc32(server: ScriptedServer, clients, observed) -> None:
    body = '{"Attributes":{"name":{"S":"ünïcode"}}}'.encode()
    server.then(
        Reply(200, body, {"x-amz-crc32": str(int(crc32(body)) ^ 1)}),
        Reply(200, body, {"x-amz-crc32": crc32(body)}),
    )

    response = clients(DYNAMODB, server.url).call("PutItem", {})

    assert response == {"Attributes": {"name": {"S": "ünïcode"}}}
    assert len(server.received) == 2
    assert observed.calls == [("dynamodb", "PutItem", 2, None)]


def test_a_body_that_always_fails_its_crc32_is_an_error(server: ScriptedServer, clients) -> None:
    server.default = Reply(200, b"{}", {"x-amz-crc32": "1"})

    with pytest.raises(ApiCallError) as raised:
        clients(DYNAMODB, server.url).call("PutItem", {})

    assert (raised.value.code, raised.value.retryable) == (CRC32_MISMATCH, True)
    assert len(server.received) == DYNAMODB.max_attempts


@pytest.mark.parametrize("service", [EVENTBRIDGE, SQS], ids=lambda service: service.signing_name)
def test_only_dynamodb_checks_crc32(server: ScriptedServer, clients, service: Service) -> None:
    server.then(Reply(200, b'{"ok":true}', {"x-amz-crc32": "1"}))

    assert clients(service, server.url).call("Operation", {}) == {"ok": True}
    assert len(server.received) == 1


def test_calls_share_one_kept_alive_connection(server: ScriptedServer, clients, pauses) -> None:
    client = clients(DYNAMODB, server.url)

    for n in range(4):
        client.call("PutItem", {"n": n})

    assert server.connections == [1, 1, 1, 1]
    assert pauses == []


def test_a_connection_the_server_closes_is_replaced(server: ScriptedServer, clients) -> None:
    # The first reply says Connection: close; after the second the server just hangs up, as an
    # idle keep-alive connection is closed, so the third call finds it dead and goes again.
    server.then(Reply(close="announced"), Reply(close="silently"))
    client = clients(DYNAMODB, server.url)

    results = [client.call("PutItem", {"n": n}) for n in range(4)]

    assert results == [{}, {}, {}, {}]
    assert [json.loads(request.body)["n"] for request in server.received] == [0, 1, 2, 3]
    assert server.connections == [1, 2, 3, 3]


def test_an_idle_connection_the_server_closed_costs_no_attempt(
    server: ScriptedServer, clients, observed, pauses
) -> None:
    server.then(Reply(close="silently"))
    client = clients(EVENTBRIDGE, server.url)
    client.call("PutEvents", {"n": 0})

    assert client.call("PutEvents", {"n": 1}) == {}

    assert [attempts for _, _, attempts, _ in observed.calls] == [1, 1]
    assert pauses == []
    assert [json.loads(request.body)["n"] for request in server.received] == [0, 1]


def test_a_success_whose_body_is_not_json_is_an_error_not_a_result(
    server: ScriptedServer, clients, observed
) -> None:
    server.then(Reply(body=b"<html>proxy</html>"))
    client = clients(DYNAMODB, server.url)

    with pytest.raises(ApiCallError) as raised:
        client.call("PutItem", {})

    assert (raised.value.code, raised.value.status, raised.value.retryable) == ("InvalidResponse", 200, False)
    assert len(server.received) == 1


def test_close_drops_the_connection(server: ScriptedServer, clients, observed) -> None:
    client = clients(DYNAMODB, server.url)
    client.call("PutItem", {})

    client.close()
    client.call("PutItem", {})

    assert server.connections == [1, 2]
    assert [attempts for _, _, attempts, _ in observed.calls] == [1, 1]


def test_threads_sharing_a_client_each_get_their_own_answer(server: ScriptedServer, clients) -> None:
    server.default = lambda request: Reply(200, request.body)
    client = clients(EVENTBRIDGE, server.url)
    answers: dict[int, list[dict[str, Any]]] = {}

    def work(thread: int) -> None:
        answers[thread] = [client.call("PutEvents", {"thread": thread, "n": n}) for n in range(5)]

    threads = [threading.Thread(target=work, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == {thread: [{"thread": thread, "n": n} for n in range(5)] for thread in range(8)}
    assert set(server.connections) == {1}


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


# --- over TLS -----------------------------------------------------------------------------------


@pytest.fixture
def ca_bundle_loads(monkeypatch: pytest.MonkeyPatch) -> list[ssl.SSLContext]:
    """Each TLS context that loaded the default trust store, starting from a new process's state."""
    monkeypatch.setattr(client_module, "_shared_tls_context", None, raising=False)
    loads: list[ssl.SSLContext] = []
    load_default_certs = ssl.SSLContext.load_default_certs

    def counting(context: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(context)
        load_default_certs(context, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", counting)
    return loads


@pytest.fixture
def trusted(tmp_path, monkeypatch: pytest.MonkeyPatch) -> TlsAuthority:
    """A CA the default trust store holds because SSL_CERT_FILE names it, as OpenSSL reads it."""
    authority = tls_authority(tmp_path / "trusted")
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
    return authority


@pytest.fixture
def https_server(trusted: TlsAuthority) -> Iterator[ScriptedServer]:
    scripted = ScriptedServer(tls=trusted.server_context)
    yield scripted
    scripted.stop()


def test_connections_and_reconnects_load_the_ca_bundle_once(
    https_server: ScriptedServer, clients, ca_bundle_loads
) -> None:
    # Connection: close, then a silent hang-up, then close(): four connections, two clients.
    https_server.then(Reply(close="announced"), Reply(close="silently"))
    dynamodb, sqs = clients(DYNAMODB, https_server.url), clients(SQS, https_server.url)

    results = [dynamodb.call("PutItem", {"n": n}) for n in range(4)]
    dynamodb.close()
    results += [dynamodb.call("PutItem", {"n": 4}), sqs.call("SendMessageBatch", {"n": 5})]

    assert results == [{}] * 6
    assert len(set(https_server.connections)) == 5
    assert len(ca_bundle_loads) == 1


def test_clients_built_and_used_over_http_load_no_ca_bundle(
    server: ScriptedServer, clients, ca_bundle_loads
) -> None:
    for service in (DYNAMODB, EVENTBRIDGE, SQS):
        clients(service, server.url).call("Operation", {})

    assert ca_bundle_loads == []


@pytest.mark.parametrize(
    ("server_ca", "host", "refusal"),
    [
        ("stranger", "127.0.0.1", "unable to get local issuer certificate"),
        ("trusted", "localhost", "Hostname mismatch"),
    ],
)
def test_a_certificate_the_trust_store_or_the_host_does_not_match_is_refused(
    tmp_path, trusted: TlsAuthority, clients, ca_bundle_loads, server_ca: str, host: str, refusal: str
) -> None:
    authority = trusted if server_ca == "trusted" else tls_authority(tmp_path / server_ca, "stranger CA")
    scripted = ScriptedServer(tls=authority.server_context)
    try:
        url = scripted.url.replace("127.0.0.1", host)
        with pytest.raises(ApiCallError) as raised:
            clients(SQS, url, backoff=Backoff(attempts=1)).call("SendMessageBatch", {})
    finally:
        scripted.stop()

    assert (raised.value.code, raised.value.status) == (TRANSPORT_ERROR, None)
    assert "CERTIFICATE_VERIFY_FAILED" in raised.value.message and refusal in raised.value.message
    assert scripted.received == []


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
