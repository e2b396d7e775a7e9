"""What the CDK adds: bucket notifications, auto-delete, AwsCustomResource SDK calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from s3flow.local.cloudformation import MOTO_ACCOUNT_ID, UnsupportedResourceError

from .conftest import REGION, client, deploy, function_template

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


def test_bucket_notifications_become_deployment_notifications(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        **function_template(),
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "uploads"}},
        "Provider": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Handler": "index.handler", "Runtime": "python3.13", "Code": {"ZipFile": "..."}},
        },
        "Notifications": {
            "Type": "Custom::S3BucketNotifications",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "BucketName": {"Ref": "Bucket"},
                "NotificationConfiguration": {
                    "LambdaFunctionConfigurations": [
                        {
                            "Events": ["s3:ObjectCreated:*"],
                            "LambdaFunctionArn": {"Fn::GetAtt": ["Fn", "Arn"]},
                            "Filter": {
                                "Key": {
                                    "FilterRules": [
                                        {"Name": "suffix", "Value": ".json"},
                                        {"Name": "prefix", "Value": "in/"},
                                    ]
                                }
                            },
                        }
                    ],
                    "QueueConfigurations": [
                        {"Events": ["s3:ObjectRemoved:*"], "QueueArn": {"Fn::GetAtt": ["Failures", "Arn"]}}
                    ],
                },
                "Managed": True,
                "SkipDestinationValidation": False,
            },
        },
    }
    deployment = deploy(tmp_path, moto_endpoint, resources)

    (notification,) = deployment.notifications
    assert notification.bucket == "uploads"
    assert notification.function_arn == deployment.functions["processor"].arn
    assert notification.events == ("s3:ObjectCreated:*",)
    assert (notification.prefix, notification.suffix) == ("in/", ".json")
    configuration = client("s3", moto_endpoint).get_bucket_notification_configuration(Bucket="uploads")
    assert "LambdaFunctionConfigurations" not in configuration  # moto would invoke through Docker
    assert configuration["QueueConfigurations"][0]["QueueArn"].endswith(":failures")
    # the custom resource's provider is CDK plumbing: a physical id, no spec to run
    assert set(deployment.functions) == {"processor"} and "Provider" in deployment.physical_ids


def _notifications_on(bucket: Any) -> dict[str, Any]:
    return {
        "Type": "Custom::S3BucketNotifications",
        "Properties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
            "BucketName": bucket,
            "NotificationConfiguration": {
                "LambdaFunctionConfigurations": [
                    {"Events": ["s3:ObjectCreated:*"], "LambdaFunctionArn": {"Fn::GetAtt": ["Fn", "Arn"]}}
                ]
            },
            "Managed": False,
        },
    }


def test_a_bucket_the_stack_triggers_on_but_does_not_define_is_made_empty_as_a_stand_in(
    tmp_path: Path, moto_endpoint: str
) -> None:
    # GIVEN a stack that triggers on an existing bucket (settings: existingBucketName)
    resources = {**function_template(), "Notifications": _notifications_on("team-landing")}

    deployment = deploy(tmp_path, moto_endpoint, resources)

    # THEN the emulator has the bucket, as AWS would before such a deploy, and says it made it
    client("s3", moto_endpoint).head_bucket(Bucket="team-landing")
    assert deployment.stand_in_buckets == ["team-landing"]
    assert deployment.notifications[0].bucket == "team-landing"


def test_a_bucket_the_template_defines_is_not_a_stand_in(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        **function_template(),
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "own-uploads"}},
        "Notifications": _notifications_on({"Ref": "Bucket"}),
    }

    deployment = deploy(tmp_path, moto_endpoint, resources)

    assert deployment.stand_in_buckets == []


def test_auto_delete_objects_records_intent(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "uploads"}},
        "Provider": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "index.handler"}},
        "AutoDelete": {
            "Type": "Custom::S3AutoDeleteObjects",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "BucketName": {"Ref": "Bucket"},
            },
        },
    }
    deployment = deploy(tmp_path, moto_endpoint, resources)

    assert deployment.auto_delete_buckets == ["uploads"]
    assert deployment.functions == {}


def _sdk_call_resource(action: str) -> dict[str, Any]:
    create = {
        "Fn::Join": [
            "",
            [
                '{"service":"CloudWatchLogs","action":"' + action + '","parameters":{"policyName":"p1",'
                '"policyDocument":"{\\"Resource\\":\\"',
                {"Fn::GetAtt": ["Logs", "Arn"]},
                '\\"}"},"physicalResourceId":{"id":"LogPolicy"}}',
            ],
        ]
    }
    return {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/x"}},
        "Provider": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "index.handler"}},
        "Policy": {
            "Type": "Custom::CloudwatchLogResourcePolicy",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "Create": create,
                "Delete": "{}",
                "InstallLatestAwsSdk": True,
            },
        },
    }


def test_cloudwatch_log_resource_policy_custom_resource_puts_the_policy(
    tmp_path: Path, moto_endpoint: str
) -> None:
    deployment = deploy(tmp_path, moto_endpoint, _sdk_call_resource("putResourcePolicy"))

    (policy,) = client("logs", moto_endpoint).describe_resource_policies()["resourcePolicies"]
    assert policy["policyName"] == "p1"
    assert json.loads(policy["policyDocument"]) == {
        "Resource": f"arn:aws:logs:{REGION}:{MOTO_ACCOUNT_ID}:log-group:/x:*"
    }
    assert deployment.physical_ids["Policy"] == "LogPolicy"


def test_other_sdk_calls_of_a_custom_resource_are_unsupported(tmp_path: Path, moto_endpoint: str) -> None:
    with pytest.raises(UnsupportedResourceError, match="SDK call CloudWatchLogs.deleteLogGroup"):
        deploy(tmp_path, moto_endpoint, _sdk_call_resource("deleteLogGroup"))
