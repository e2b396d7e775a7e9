"""``JsonApiClient`` against a scripted server (what moto never does): errors, retries and
their budget, lost responses, bodies failing their CRC32."""

from __future__ import annotations

import json
from typing import Any

import botocore.handlers
import botocore.parsers
import pytest

from s3flow.functions.shared.aws_api import client as client_module
from s3flow.functions.shared.aws_api.client import TRANSPORT_ERROR
from s3flow.functions.shared.aws_api.errors import CRC32_MISMATCH, ApiCallError
from s3flow.functions.shared.aws_api.services import DYNAMODB, EVENTBRIDGE, SQS, Service
from s3flow.functions.shared.backoff import Backoff

from .support import Reply, ScriptedServer, crc32, error_reply


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
