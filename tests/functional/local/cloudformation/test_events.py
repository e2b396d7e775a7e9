"""AWS::Events::EventBus and AWS::Events::Rule on moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from s3flow import contract
from s3flow.local.cloudformation import MOTO_ACCOUNT_ID

from .conftest import REGION, client, deploy

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


def _bus_and_rule(rule_properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "Bus": {
            "Type": "AWS::Events::EventBus",
            "Properties": {"Name": "processing", "Description": "Processing events"},
        },
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {"EventBusName": {"Ref": "Bus"}, **rule_properties},
        },
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/aws/events/x"}},
        "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "events-dlq"}},
    }


def test_event_bus(tmp_path: Path, moto_endpoint: str) -> None:
    deployment = deploy(
        tmp_path, moto_endpoint, _bus_and_rule({"Name": "r", "EventPattern": {"source": ["x"]}})
    )

    bus = client("events", moto_endpoint).describe_event_bus(Name="processing")
    assert bus["Description"] == "Processing events"
    assert deployment.physical_ids["Bus"] == "processing"  # Ref of a bus is its name, not its ARN


def test_event_rule_pattern_state_and_targets(tmp_path: Path, moto_endpoint: str) -> None:
    pattern = {"source": [contract.EVENT_SOURCE], "detail": {"status": [contract.STATUS_SUCCESS]}}
    log_group_arn = {
        "Fn::Join": [
            ":",
            [
                "arn",
                {"Ref": "AWS::Partition"},
                "logs",
                {"Ref": "AWS::Region"},
                {"Ref": "AWS::AccountId"},
                "log-group",
                {"Ref": "Logs"},
            ],
        ]
    }
    transformer = {
        "InputPathsMap": {"time": "$.time", "detail": "$.detail"},
        "InputTemplate": '{"timestamp":<time>,"message":<detail>}',
    }
    rule = {
        "Name": "success",
        "Description": "Successes",
        "State": "DISABLED",
        "EventPattern": pattern,
        "Targets": [
            {
                "Id": "Transformed",
                "Arn": log_group_arn,
                "InputTransformer": transformer,
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
                "RetryPolicy": {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 7200},
            },
            {"Id": "Path", "Arn": log_group_arn, "InputPath": "$.detail"},
            {"Id": "Constant", "Arn": log_group_arn, "Input": '{"fixed":true}'},
        ],
    }
    deployment = deploy(tmp_path, moto_endpoint, _bus_and_rule(rule))

    events = client("events", moto_endpoint)
    described = events.describe_rule(Name="success", EventBusName="processing")
    assert json.loads(described["EventPattern"]) == pattern
    assert (described["State"], described["Description"]) == ("DISABLED", "Successes")
    targets = {
        t["Id"]: t for t in events.list_targets_by_rule(Rule="success", EventBusName="processing")["Targets"]
    }
    expected_arn = f"arn:aws:logs:{REGION}:{MOTO_ACCOUNT_ID}:log-group:/aws/events/x"
    assert {t["Arn"] for t in targets.values()} == {expected_arn}
    assert targets["Transformed"]["InputTransformer"] == transformer
    assert targets["Transformed"]["DeadLetterConfig"] == {
        "Arn": f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT_ID}:events-dlq"
    }
    assert targets["Transformed"]["RetryPolicy"] == {
        "MaximumRetryAttempts": 8,
        "MaximumEventAgeInSeconds": 7200,
    }
    assert targets["Path"]["InputPath"] == "$.detail"
    assert targets["Constant"]["Input"] == '{"fixed":true}'
    assert deployment.physical_ids["Rule"] == "processing|success"
