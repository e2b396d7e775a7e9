"""AWS::IAM::Role and AWS::IAM::Policy on moto."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import client, deploy

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


BASIC_EXECUTION = "service-role/AWSLambdaBasicExecutionRole"


ASSUME_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def test_iam_role_and_policy(tmp_path: Path, moto_endpoint: str) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}],
    }
    resources = {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": ASSUME_LAMBDA,
                "Description": "Runs the processor",
                "ManagedPolicyArns": [
                    {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::aws:policy/{BASIC_EXECUTION}"}
                ],
            },
        },
        "Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"PolicyName": "Publish", "PolicyDocument": document, "Roles": [{"Ref": "Role"}]},
        },
    }
    deployment = deploy(tmp_path, moto_endpoint, resources)

    iam = client("iam", moto_endpoint)
    role_name = deployment.physical_ids["Role"]
    role = iam.get_role(RoleName=role_name)["Role"]
    assert role["Description"] == "Runs the processor"
    assert role["AssumeRolePolicyDocument"] == ASSUME_LAMBDA
    assert iam.get_role_policy(RoleName=role_name, PolicyName="Publish")["PolicyDocument"] == document
    # moto started without MOTO_IAM_LOAD_MANAGED_POLICIES has no AWS-managed policies
    assert deployment.unattached_policies == [(role_name, f"arn:aws:iam::aws:policy/{BASIC_EXECUTION}")]
