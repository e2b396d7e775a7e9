"""Shared by the provisioning tests: write a small template and provision it on moto.

Fixtures (``moto_endpoint``, ``cloud_assembly``, ``stack_name``) come from tests/functional/local/conftest.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from s3flow import contract
from s3flow.local.cloudformation import provision
from s3flow.local.deployment import Deployment

REGION = "us-east-1"


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def deploy(tmp_path: Path, endpoint: str, resources: dict[str, Any], **sections: Any) -> Deployment:
    """Write a small template into a cloud assembly folder and provision it."""
    template = {"Resources": resources, **sections}
    (tmp_path / "Small.template.json").write_text(json.dumps(template))
    return provision(tmp_path, "Small", endpoint_url=endpoint, region=REGION)


def function_template() -> dict[str, Any]:
    """A runnable function with what its environment and async config refer to, and a permission."""
    return {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": "records",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        },
        "Failures": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "failures"}},
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "processor",
                "Handler": contract.HANDLER,
                "Runtime": "python3.13",
                "Timeout": 300,
                "MemorySize": 256,
                "ReservedConcurrentExecutions": 4,
                "Code": {"S3Bucket": {"Fn::Sub": "cdk-assets-${AWS::AccountId}"}, "S3Key": "x.zip"},
                "Environment": {"Variables": {"TABLE": {"Ref": "Table"}, "SHARDS": 4}},
                "TracingConfig": {"Mode": "Active"},
                "LoggingConfig": {"LogGroup": "/aws/lambda/processor-logs"},
            },
        },
        "Async": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": "Fn"},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": 1,
                "MaximumEventAgeInSeconds": 600,
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}},
            },
        },
        "Permission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]},
                "Principal": "s3.amazonaws.com",
            },
        },
    }
