"""AWS::S3::Bucket and AWS::S3::BucketPolicy on moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s3flow.local.cloudformation import MOTO_ACCOUNT_ID

from .conftest import client, deploy

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


def test_s3_bucket_and_bucket_policy(tmp_path: Path, moto_endpoint: str) -> None:
    bucket_arn = {"Fn::GetAtt": ["Data", "Arn"]}
    resources = {
        "Logs": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "LogsPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "Logs"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "logging.s3.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["Logs", "Arn"]}, "/*"]]},
                        }
                    ],
                },
            },
        },
        "Data": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": {"Fn::Join": ["", ["data-", {"Ref": "AWS::AccountId"}]]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "Tidy",
                            "Status": "Enabled",
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                            "ExpirationInDays": 90,
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
                        }
                    ]
                },
                "LoggingConfiguration": {"DestinationBucketName": {"Ref": "Logs"}, "LogFilePrefix": "data/"},
                "Tags": [{"Key": "Purpose", "Value": "Trigger"}],
            },
        },
        "DataPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "Data"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "s3:*",
                            "Resource": [bucket_arn, {"Fn::Join": ["", [bucket_arn, "/*"]]}],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }
    deployment = deploy(tmp_path, moto_endpoint, resources)

    s3 = client("s3", moto_endpoint)
    name = f"data-{MOTO_ACCOUNT_ID}"
    logs_bucket = deployment.physical_ids["Logs"]
    assert logs_bucket == logs_bucket.lower() and logs_bucket.startswith("small-logs-")
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert lifecycle["ID"] == "Tidy" and lifecycle["Expiration"]["Days"] == 90
    assert lifecycle["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
    assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7
    assert s3.get_bucket_logging(Bucket=name)["LoggingEnabled"] == {
        "TargetBucket": logs_bucket,
        "TargetPrefix": "data/",
    }
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "Purpose", "Value": "Trigger"}]
    # The TLS-only Deny is conditioned: recorded, not given to moto, so uploads over HTTP work.
    (unenforced,) = deployment.unenforced_policy_statements["DataPolicy"]
    assert unenforced["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
    s3.put_object(Bucket=name, Key="probe.txt", Body=b"x")
    logs_policy = json.loads(s3.get_bucket_policy(Bucket=logs_bucket)["Policy"])
    assert logs_policy["Statement"][0]["Resource"] == f"arn:aws:s3:::{logs_bucket}/*"
