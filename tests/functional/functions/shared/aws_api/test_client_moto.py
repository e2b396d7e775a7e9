"""``JsonApiClient`` against a moto server: what it writes is what boto3 reads back."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import boto3
import pytest

from s3flow.functions.shared.aws_api.errors import ApiCallError
from s3flow.functions.shared.aws_api.services import DYNAMODB, EVENTBRIDGE, SQS
from support.signing import ACCESS_KEY, REGION, SECRET_KEY


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
