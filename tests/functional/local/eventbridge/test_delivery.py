"""PutEvents answered locally: each correction of moto 5.2.5's behaviour has a test here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from s3flow.local.eventbridge.delivery import Delivery, EventRouter, log_event_for
from s3flow.local.eventbridge.input_transformer import render_template, target_input
from s3flow.local.server import LocalServer

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUS = "bus"
GROUP = "/aws/events/test"
GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}"
PATTERN = json.dumps({"source": ["test.source"]})


class Env:
    def __init__(self, endpoint_url: str) -> None:
        def client(name: str) -> Any:
            return boto3.client(name, endpoint_url=endpoint_url, region_name=REGION)

        self.events, self.logs, self.sqs = client("events"), client("logs"), client("sqs")

    def rule(self, name: str, targets: list[dict[str, Any]], state: str = "ENABLED") -> None:
        self.events.put_rule(Name=name, EventBusName=BUS, EventPattern=PATTERN, State=state)
        self.events.put_targets(Rule=name, EventBusName=BUS, Targets=targets)

    def put(self, detail: dict[str, Any], **extra: Any) -> dict[str, Any]:
        entry = {
            "Source": "test.source",
            "DetailType": "Test",
            "Detail": json.dumps(detail),
            "EventBusName": BUS,
        }
        return self.events.put_events(Entries=[{**entry, **extra}])

    def logged(self) -> list[dict[str, Any]]:
        return self.logs.filter_log_events(logGroupName=GROUP)["events"]

    def queue(self, name: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    def received(self, url: str) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        return answer.get("Messages", [])


@pytest.fixture
def env() -> Iterator[tuple[Env, list[Delivery]]]:
    server = LocalServer(port=0)
    server.start()
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    deliveries: list[Delivery] = []
    server.middleware.routes.append(EventRouter(account=ACCOUNT, on_delivery=deliveries.append).route)
    local = Env(server.endpoint_url)
    local.events.create_event_bus(Name=BUS)
    local.logs.create_log_group(logGroupName=GROUP)
    try:
        yield local, deliveries
    finally:
        server.stop()


def test_a_matching_event_reaches_the_log_group_as_the_whole_event(env):
    local, deliveries = env
    local.rule("to-logs", [{"Id": "1", "Arn": GROUP_ARN}])

    answer = local.put({"status": "SUCCESS"})

    assert answer["FailedEntryCount"] == 0
    (logged,) = local.logged()
    event = json.loads(logged["message"])
    assert event["detail"] == {"status": "SUCCESS"} and event["source"] == "test.source"
    assert event["id"] == answer["Entries"][0]["EventId"]
    assert event["time"].endswith("Z")  # ISO-8601, not moto's Unix number
    assert [d.rule_name for d in deliveries] == ["to-logs"]


def test_a_disabled_rule_does_not_deliver(env):
    local, deliveries = env
    local.rule("off", [{"Id": "1", "Arn": GROUP_ARN}], state="DISABLED")

    local.put({"status": "SUCCESS"})

    assert local.logged() == []
    assert deliveries == []


def test_a_target_that_cannot_be_reached_does_not_fail_the_producer(env):
    local, _ = env
    dlq_url, dlq_arn = local.queue("dlq")
    missing = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/events/missing"
    local.rule("broken", [{"Id": "1", "Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}}])

    answer = local.put({"status": "SUCCESS"})

    assert answer["FailedEntryCount"] == 0 and "EventId" in answer["Entries"][0]
    (dead,) = local.received(dlq_url)
    assert json.loads(dead["Body"])["id"] == answer["Entries"][0]["EventId"]
    assert dead["MessageAttributes"]["TARGET_ARN"]["StringValue"] == missing
    assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "RESOURCE_NOT_FOUND"


def test_the_input_transformer_of_the_log_group_shape_writes_the_message_and_timestamp(env):
    local, _ = env
    transformer = {
        "InputPathsMap": {"time": "$.time", "detail": "$.detail"},
        "InputTemplate": '{"timestamp":<time>,"message":<detail>}',
    }
    local.rule("shaped", [{"Id": "1", "Arn": GROUP_ARN, "InputTransformer": transformer}])

    local.put({"status": "SUCCESS", "key": "a b"}, Time="2026-11-25T07:00:00Z")

    (logged,) = local.logged()
    assert json.loads(logged["message"]) == {"status": "SUCCESS", "key": "a b"}
    assert logged["timestamp"] == 1795590000000


def test_input_and_input_path_are_applied(env):
    local, _ = env
    constant_url, constant_arn = local.queue("constant")
    path_url, path_arn = local.queue("path")
    local.rule(
        "inputs",
        [
            {"Id": "c", "Arn": constant_arn, "Input": '{"fixed": true}'},
            {"Id": "p", "Arn": path_arn, "InputPath": "$.detail.object"},
        ],
    )

    local.put({"object": {"key": "k"}})

    assert [json.loads(m["Body"]) for m in local.received(constant_url)] == [{"fixed": True}]
    assert [json.loads(m["Body"]) for m in local.received(path_url)] == [{"key": "k"}]


def test_more_than_ten_entries_fail_the_call(env):
    local, _ = env
    entry = {"Source": "test.source", "DetailType": "Test", "Detail": "{}", "EventBusName": BUS}

    with pytest.raises(ClientError) as raised:
        local.events.put_events(Entries=[entry] * 11)

    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_more_than_256_kb_fail_the_call(env):
    local, _ = env
    big = {"Source": "test.source", "DetailType": "Test", "Detail": json.dumps({"x": "y" * 100_000})}

    with pytest.raises(ClientError) as raised:
        local.events.put_events(Entries=[{**big, "EventBusName": BUS}] * 3)

    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == "Total size of the entries in the request is over the limit."


def test_bad_entries_fail_alone(env):
    local, _ = env
    good = {"Source": "test.source", "DetailType": "Test", "Detail": "{}", "EventBusName": BUS}

    answer = local.events.put_events(
        Entries=[good, {**good, "Detail": "not json"}, {**good, "EventBusName": "no-such-bus"}]
    )

    assert answer["FailedEntryCount"] == 2
    assert "EventId" in answer["Entries"][0]
    assert answer["Entries"][1]["ErrorCode"] == "MalformedDetail"
    assert answer["Entries"][2]["ErrorCode"] == "NotFoundException"


# -- rendering, without a server -----------------------------------------------------------


def test_placeholders_are_json_values_outside_quotes_and_text_inside():
    variables = {"name": 'a "b"', "n": 3, "obj": {"k": [1]}}

    rendered = render_template('{"q": "<name> is <n>", "v": <name>, "o": <obj>, "n": <n>}', variables)

    assert json.loads(rendered) == {"q": 'a "b" is 3', "v": 'a "b"', "o": {"k": [1]}, "n": 3}


def test_a_string_template_renders_to_text():
    # AWS's example: a quoted template with placeholders inside gives a JSON string
    target = {
        "InputTransformer": {"InputPathsMap": {"s": "$.source"}, "InputTemplate": '"<s> is in state on"'}
    }

    assert target_input(target, {"source": "x"}, rule_name="r", rule_arn="arn") == "x is in state on"


def test_predefined_variables_are_available():
    target = {"InputTransformer": {"InputTemplate": '{"rule": <aws.events.rule-name>}'}}

    assert target_input(target, {}, rule_name="r1", rule_arn="arn") == {"rule": "r1"}


def test_a_text_message_is_logged_as_is():
    event = {"time": "2026-11-25T07:00:00Z"}

    assert log_event_for({"timestamp": "2026-11-25T07:00:01Z", "message": "hello"}, event) == {
        "timestamp": 1795590001000,
        "message": "hello",
    }
