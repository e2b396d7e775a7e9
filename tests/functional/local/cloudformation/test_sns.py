"""AWS::SNS::Topic, AWS::SNS::TopicPolicy and AWS::SNS::Subscription on moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s3flow.local.cloudformation import MOTO_ACCOUNT_ID

from .conftest import REGION, client, deploy

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


def test_sns_topic_topic_policy_and_subscription(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alarms", "DisplayName": "Alarms"}},
        "TopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": "Topic"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": "Topic"},
                        }
                    ],
                },
            },
        },
    }
    resources["Queue"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "alarm-inbox"}}
    resources["Subscription"] = {
        "Type": "AWS::SNS::Subscription",
        "Properties": {
            "TopicArn": {"Ref": "Topic"},
            "Protocol": "sqs",
            "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
            "RawMessageDelivery": True,
        },
    }
    deployment = deploy(tmp_path, moto_endpoint, resources)

    arn = f"arn:aws:sns:{REGION}:{MOTO_ACCOUNT_ID}:alarms"
    sns = client("sns", moto_endpoint)
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert subscription["Endpoint"] == f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT_ID}:alarm-inbox"
    assert subscription["SubscriptionArn"] == deployment.physical_ids["Subscription"]
    subscription_attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])
    assert subscription_attributes["Attributes"]["RawMessageDelivery"] == "true"
    assert deployment.physical_ids["Topic"] == arn  # Ref of a topic is its ARN
    attributes = client("sns", moto_endpoint).get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Alarms"
    assert json.loads(attributes["Policy"])["Statement"][0]["Resource"] == arn
