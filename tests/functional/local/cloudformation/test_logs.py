"""AWS::Logs::LogGroup and AWS::Logs::ResourcePolicy on moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s3flow.local.cloudformation import MOTO_ACCOUNT_ID

from .conftest import REGION, client, deploy

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


def test_log_group_and_resource_policy(tmp_path: Path, moto_endpoint: str) -> None:
    document = {
        "Fn::Join": [
            "",
            [
                '{"Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},'
                '"Action":["logs:PutLogEvents"],"Resource":"',
                {"Fn::GetAtt": ["Logs", "Arn"]},
                '"}]}',
            ],
        ]
    }
    resources = {
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": "/aws/events/processing",
                "RetentionInDays": 7,
                "Tags": [{"Key": "Purpose", "Value": "Events"}],
            },
        },
        "Policy": {
            "Type": "AWS::Logs::ResourcePolicy",
            "Properties": {"PolicyName": "events", "PolicyDocument": document},
        },
    }
    deploy(tmp_path, moto_endpoint, resources)

    logs = client("logs", moto_endpoint)
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/aws/events/processing")["logGroups"]
    assert group["retentionInDays"] == 7
    (policy,) = logs.describe_resource_policies()["resourcePolicies"]
    expected = f"arn:aws:logs:{REGION}:{MOTO_ACCOUNT_ID}:log-group:/aws/events/processing:*"
    assert policy["policyName"] == "events"
    assert json.loads(policy["policyDocument"])["Statement"][0]["Resource"] == expected
