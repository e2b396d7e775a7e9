"""AWS::SQS::Queue and AWS::SQS::QueuePolicy on moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s3flow.local.cloudformation import MOTO_ACCOUNT_ID

from .conftest import REGION, client, deploy

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


def test_sqs_queue_and_queue_policy(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "dlq"}},
        "Q": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": "failures",
                "MessageRetentionPeriod": 1209600,
                "SqsManagedSseEnabled": True,
                "VisibilityTimeout": 60,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]},
                    "maxReceiveCount": 3,
                },
                "Tags": [{"Key": "Purpose", "Value": "Failures"}],
            },
        },
        "QPolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "Q"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "sqs:*",
                            "Resource": {"Fn::GetAtt": ["Q", "Arn"]},
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }
    deployment = deploy(tmp_path, moto_endpoint, resources)

    sqs = client("sqs", moto_endpoint)
    url = sqs.get_queue_url(QueueName="failures")["QueueUrl"]
    assert deployment.physical_ids["Q"] == url  # Ref of a queue is its URL, as moto serves it
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["MessageRetentionPeriod"] == "1209600"
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert attributes["VisibilityTimeout"] == "60"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT_ID}:dlq",
        "maxReceiveCount": 3,
    }
    policy = json.loads(attributes["Policy"])
    assert policy["Statement"][0]["Resource"] == f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT_ID}:failures"
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"Purpose": "Failures"}
