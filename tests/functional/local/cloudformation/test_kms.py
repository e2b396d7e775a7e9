"""AWS::KMS::Key and AWS::KMS::Alias on moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s3flow.local.cloudformation import MOTO_ACCOUNT_ID

from .conftest import REGION, client, deploy

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


def test_kms_key_and_alias(tmp_path: Path, moto_endpoint: str) -> None:
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    resources = {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": "Encrypts alarms",
                "EnableKeyRotation": True,
                "KeyPolicy": key_policy,
                "PendingWindowInDays": 7,
            },
        },
        "Alias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": "alias/alarms", "TargetKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": "alarms", "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
    }
    deployment = deploy(tmp_path, moto_endpoint, resources)

    kms = client("kms", moto_endpoint)
    key_id = deployment.physical_ids["Key"]  # Ref of a key is its id
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["Description"] == "Encrypts alarms"
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{MOTO_ACCOUNT_ID}:root"}
    (alias,) = [a for a in kms.list_aliases(KeyId=key_id)["Aliases"] if a["AliasName"] == "alias/alarms"]
    assert alias["TargetKeyId"] == key_id
    topic = client("sns", moto_endpoint).get_topic_attributes(
        TopicArn=f"arn:aws:sns:{REGION}:{MOTO_ACCOUNT_ID}:alarms"
    )
    assert topic["Attributes"]["KmsMasterKeyId"] == metadata["Arn"]
