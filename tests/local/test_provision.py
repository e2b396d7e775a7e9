"""Provisioning synthesized templates on moto: resolver units, one test per resource type,
errors, outputs, and the real TapStack end to end."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from s3flow import contract
from s3flow.local.cloudformation import (
    MOTO_ACCOUNT_ID,
    Resolver,
    StackExistsError,
    TemplateError,
    TemplateNotFoundError,
    UnsupportedResourceError,
    creation_order,
    physical_name,
    provision,
    references,
)
from s3flow.local.deployment import Deployment

REGION = "us-east-1"
# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")
BASIC_EXECUTION = "service-role/AWSLambdaBasicExecutionRole"
ASSUME_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def deploy(tmp_path: Path, endpoint: str, resources: dict[str, Any], **sections: Any) -> Deployment:
    """Write a small template into a cloud assembly folder and provision it."""
    template = {"Resources": resources, **sections}
    (tmp_path / "Small.template.json").write_text(json.dumps(template))
    return provision(tmp_path, "Small", endpoint_url=endpoint, region=REGION)


def resolver(template: dict[str, Any] | None = None, **kwargs: Any) -> Resolver:
    return Resolver(template or {"Resources": {}}, "Small", REGION, **kwargs)


# --------------------------------------------------------------------------- intrinsics


def test_pseudo_parameters_resolve_to_the_local_account_region_and_stack() -> None:
    r = resolver(stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/Small/abc")
    refs = ["AccountId", "Region", "Partition", "URLSuffix", "StackName", "StackId"]
    assert [r.resolve({"Ref": f"AWS::{name}"}) for name in refs] == [
        MOTO_ACCOUNT_ID,
        REGION,
        "aws",
        "amazonaws.com",
        "Small",
        "arn:aws:cloudformation:us-east-1:123456789012:stack/Small/abc",
    ]


def test_no_value_removes_the_property_and_the_list_item() -> None:
    value = {"Keep": "a", "Drop": {"Ref": "AWS::NoValue"}, "List": ["x", {"Ref": "AWS::NoValue"}, "y"]}
    assert resolver().resolve(value) == {"Keep": "a", "List": ["x", "y"]}


def test_join_sub_select_split_getazs_findinmap_base64() -> None:
    r = resolver({"Resources": {}, "Mappings": {"Sizes": {"dev": {"Memory": 256}}}})
    r.refs["Bucket"] = "my-bucket"
    r.attributes["Bucket"] = {"Arn": "arn:aws:s3:::my-bucket"}

    assert r.resolve({"Fn::Join": ["-", ["a", {"Ref": "Bucket"}, {"Ref": "AWS::Region"}]]}) == (
        "a-my-bucket-us-east-1"
    )
    assert r.resolve({"Fn::Sub": "${Bucket}/${Bucket.Arn}/${AWS::AccountId}/${!Literal}"}) == (
        f"my-bucket/arn:aws:s3:::my-bucket/{MOTO_ACCOUNT_ID}/${{Literal}}"
    )
    assert r.resolve({"Fn::Sub": ["${Name}-${AWS::Region}", {"Name": {"Ref": "Bucket"}}]}) == (
        "my-bucket-us-east-1"
    )
    assert r.resolve({"Fn::Select": ["1", {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert r.resolve({"Fn::Select": [0, {"Fn::GetAZs": ""}]}) == "us-east-1a"
    assert r.resolve({"Fn::FindInMap": ["Sizes", "dev", "Memory"]}) == 256
    assert base64.b64decode(r.resolve({"Fn::Base64": {"Ref": "Bucket"}})) == b"my-bucket"


def test_conditions_choose_the_if_branch() -> None:
    template = {
        "Resources": {},
        "Parameters": {"Env": {"Type": "String", "Default": "prod"}},
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
            "Either": {"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]},
            "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]},
        },
    }
    r = resolver(template)
    assert [r.condition(name) for name in ("IsProd", "IsDev", "Either", "Both")] == [True, False, True, False]
    assert r.resolve({"Fn::If": ["IsDev", "small", "large"]}) == "large"
    assert r.resolve({"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "x"]}) is not None
    assert r.resolve({"Key": {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "x"]}}) == {}


def test_parameters_take_defaults_overrides_and_lists() -> None:
    template = {
        "Resources": {},
        "Parameters": {
            "Suffix": {"Type": "String", "Default": "dev"},
            "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
        },
    }
    assert resolver(template).resolve({"Ref": "Suffix"}) == "dev"
    assert resolver(template, parameter_overrides={"Suffix": "qa"}).resolve({"Ref": "Suffix"}) == "qa"
    assert resolver(template).resolve({"Ref": "Zones"}) == ["a", "b"]


def test_bootstrap_version_parameter_is_an_error_only_when_referenced() -> None:
    template = {
        "Resources": {},
        "Parameters": {
            "BootstrapVersion": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/cdk-bootstrap/hnb659fds/version",
            },
            "Required": {"Type": "String"},
        },
    }
    with pytest.raises(TemplateError, match="BootstrapVersion is an SSM lookup"):
        resolver(template).resolve({"Ref": "BootstrapVersion"})
    with pytest.raises(TemplateError, match="Required has no default"):
        resolver(template).resolve({"Ref": "Required"})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Ref": "Nowhere"}, "unknown name Nowhere"),
        ({"Fn::GetAtt": ["Nowhere", "Arn"]}, "unknown resource Nowhere"),
        ({"Fn::GetAtt": ["Bucket", "Missing"]}, "Bucket has no attribute Missing"),
        ({"Fn::ImportValue": "x"}, "Fn::ImportValue is not supported"),
        ({"Fn::Select": [5, ["a"]]}, "out of range"),
    ],
)
def test_unresolvable_intrinsics_are_clear_errors(value: dict[str, Any], message: str) -> None:
    r = resolver()
    r.attributes["Bucket"] = {"Arn": "arn:aws:s3:::b"}
    with pytest.raises(TemplateError, match=message):
        r.resolve(value)


def test_references_include_ref_getatt_sub_but_not_pseudo_or_sub_variables() -> None:
    fragment = {
        "A": {"Ref": "Table"},
        "B": {"Fn::GetAtt": "Queue.Arn"},
        "C": {"Fn::Sub": "${Bus}-${Role.Arn}-${!Skip}-${AWS::Region}"},
        "D": {"Fn::Sub": ["${Local}", {"Local": {"Ref": "Topic"}}]},
    }
    assert references(fragment) - {"AWS::Region"} == {"Table", "Queue", "Bus", "Role", "Topic"}


def test_creation_order_follows_refs_getatts_subs_and_depends_on() -> None:
    resources = {
        "Rule": {"Properties": {"Bus": {"Ref": "Bus"}, "Target": {"Fn::GetAtt": ["Logs", "Arn"]}}},
        "Logs": {"Properties": {"Name": {"Fn::Sub": "${Bus}-logs"}}},
        "Bus": {"DependsOn": "Role"},
        "Role": {},
    }
    order = creation_order(resources)
    assert order.index("Role") < order.index("Bus") < order.index("Logs") < order.index("Rule")


def test_creation_order_rejects_cycles_and_unknown_depends_on() -> None:
    with pytest.raises(TemplateError, match="circular dependency among A, B"):
        creation_order({"A": {"Properties": {"X": {"Ref": "B"}}}, "B": {"DependsOn": ["A"]}})
    with pytest.raises(TemplateError, match="A DependsOn unknown resource Ghost"):
        creation_order({"A": {"DependsOn": "Ghost"}})


def test_generated_names_are_deterministic_and_fit_the_service_limit() -> None:
    long_id = "StorageObjectTriggerBucketWithAVeryLongLogicalIdentifier1DB48BC9"
    name = physical_name("TapStackdev", long_id, max_length=63, lower=True)
    assert name == physical_name("TapStackdev", long_id, max_length=63, lower=True)
    assert len(name) <= 63 and name == name.lower() and name.startswith("tapstackdev-")
    assert physical_name("TapStackdev", "Other", max_length=63) != physical_name(
        "TapStackdev", "Another", max_length=63
    )


# --------------------------------------------------------------------------- errors


def test_missing_template_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(TemplateNotFoundError) as caught:
        provision(tmp_path, "TapStackdev", endpoint_url="http://127.0.0.1:1")
    assert caught.value.path == tmp_path / "TapStackdev.template.json"
    assert str(tmp_path / "TapStackdev.template.json") in str(caught.value)


@pytest.mark.parametrize("kind", ["AWS::EC2::VPC", "Custom::SomethingElse"])
def test_unknown_type_names_type_and_logical_id_and_creates_nothing(
    tmp_path: Path, moto_endpoint: str, kind: str
) -> None:
    resources = {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "created-first"}},
        "Strange": {"Type": kind, "Properties": {}},
    }
    with pytest.raises(UnsupportedResourceError) as caught:
        deploy(tmp_path, moto_endpoint, resources)
    assert (caught.value.resource_type, caught.value.logical_id) == (kind, "Strange")
    assert kind in str(caught.value) and "Strange" in str(caught.value)
    assert client("s3", moto_endpoint).list_buckets()["Buckets"] == []


def test_unknown_property_is_an_error_naming_it(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "First": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "first"}},
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q", "Teleport": True}},
    }
    with pytest.raises(
        UnsupportedResourceError, match=r"AWS::SQS::Queue \(Q\).*unsupported properties Teleport"
    ):
        deploy(tmp_path, moto_endpoint, resources)
    assert "QueueUrls" not in client("sqs", moto_endpoint).list_queues()


def test_failed_provisioning_registers_no_stack(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["Q2", "X"]}}},
        "Q2": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q2"}},
    }
    with pytest.raises(TemplateError, match="Q2 has no attribute X"):
        deploy(tmp_path, moto_endpoint, resources)
    assert client("cloudformation", moto_endpoint).list_stacks()["StackSummaries"] == []


# --------------------------------------------------------------------------- one test per type


def test_dynamodb_table(tmp_path: Path, moto_endpoint: str) -> None:
    table: dict[str, Any] = {
        "TableName": "records",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "bucket", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "ByTime",
                "KeySchema": [
                    {"AttributeName": "bucket", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["size"]},
            }
        ],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": True},
        "Tags": [{"Key": "Purpose", "Value": "Records"}],
    }
    deployment = deploy(tmp_path, moto_endpoint, {"T": {"Type": "AWS::DynamoDB::Table", "Properties": table}})

    dynamodb = client("dynamodb", moto_endpoint)
    described = dynamodb.describe_table(TableName="records")["Table"]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert described["KeySchema"] == table["KeySchema"]
    (index,) = described["GlobalSecondaryIndexes"]
    assert (index["IndexName"], index["KeySchema"], index["Projection"]) == (
        "ByTime",
        table["GlobalSecondaryIndexes"][0]["KeySchema"],
        table["GlobalSecondaryIndexes"][0]["Projection"],
    )
    item = {"pk": {"S": "a"}, "sk": {"S": "1"}, "bucket": {"S": "b"}, "size": {"N": "3"}, "state": {"S": "x"}}
    dynamodb.put_item(TableName="records", Item=item)
    (found,) = dynamodb.query(
        TableName="records",
        IndexName="ByTime",
        KeyConditionExpression="#b = :b",
        ExpressionAttributeNames={"#b": "bucket"},
        ExpressionAttributeValues={":b": {"S": "b"}},
    )["Items"]
    assert found == {name: value for name, value in item.items() if name != "state"}  # INCLUDE honoured
    assert described["SSEDescription"]["Status"] == "ENABLED"
    backups = dynamodb.describe_continuous_backups(TableName="records")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    ttl = dynamodb.describe_time_to_live(TableName="records")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")
    tags = dynamodb.list_tags_of_resource(ResourceArn=described["TableArn"])["Tags"]
    assert tags == [{"Key": "Purpose", "Value": "Records"}]
    assert deployment.physical_ids["T"] == "records"


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


def _function_template() -> dict[str, Any]:
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


def test_lambda_function_event_invoke_config_and_permission_are_recorded_not_created(
    tmp_path: Path, moto_endpoint: str
) -> None:
    deployment = deploy(tmp_path, moto_endpoint, _function_template())

    spec = deployment.functions["processor"]
    assert spec.arn == f"arn:aws:lambda:{REGION}:{MOTO_ACCOUNT_ID}:function:processor"
    assert spec.environment == {"TABLE": "records", "SHARDS": "4"}
    assert (spec.handler, spec.runtime, spec.timeout_seconds, spec.memory_mb) == (
        contract.HANDLER,
        "python3.13",
        300,
        256,
    )
    assert spec.tracing_active and spec.reserved_concurrency == 4
    assert spec.log_group == "/aws/lambda/processor-logs"
    assert spec.async_config.maximum_retry_attempts == 1
    assert spec.async_config.maximum_event_age_seconds == 600
    assert spec.async_config.on_failure_arn == f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT_ID}:failures"
    assert deployment.function_by_arn(spec.arn) is spec
    assert set(deployment.physical_ids) >= {"Async", "Permission"}
    assert client("lambda", moto_endpoint).list_functions()["Functions"] == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"DeadLetterConfig": {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq"}}, "DeadLetterConfig"),
        ({"PackageType": "Image"}, "only zip-packaged functions"),
    ],
)
def test_functions_the_local_runtime_cannot_honour_are_errors(
    tmp_path: Path, moto_endpoint: str, extra: dict[str, Any], message: str
) -> None:
    resources = _function_template()
    resources["Fn"]["Properties"].update(extra)
    with pytest.raises(UnsupportedResourceError, match=message):
        deploy(tmp_path, moto_endpoint, resources)


def test_bucket_notifications_become_deployment_notifications(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        **_function_template(),
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


def test_cloudwatch_alarm_and_dashboard(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "processor-errors",
                "MetricName": "Errors",
                "Namespace": "AWS/Lambda",
                "Dimensions": [{"Name": "FunctionName", "Value": "processor"}],
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
            },
        },
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": "s3flow",
                "DashboardBody": {"Fn::Join": ["", ['{"widgets":[]', "}"]]},
            },
        },
    }
    deploy(tmp_path, moto_endpoint, resources)

    cloudwatch = client("cloudwatch", moto_endpoint)
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["processor-errors"])["MetricAlarms"]
    assert (alarm["MetricName"], alarm["Threshold"], alarm["TreatMissingData"]) == (
        "Errors",
        1.0,
        "notBreaching",
    )
    assert json.loads(cloudwatch.get_dashboard(DashboardName="s3flow")["DashboardBody"]) == {"widgets": []}


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


# --------------------------------------------------------------------------- stack, outputs, order


def test_outputs_are_readable_through_describe_stacks(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "failures"}}}
    outputs = {
        "QueueUrl": {
            "Value": {"Ref": "Q"},
            "Description": "Failure queue",
            "Export": {"Name": "QueueUrl-dev"},
        },
        "QueueArn": {"Value": {"Fn::GetAtt": ["Q", "Arn"]}},
        "Hidden": {"Value": "x", "Condition": "Never"},
    }
    conditions = {"Never": {"Fn::Equals": ["a", "b"]}}
    deployment = deploy(tmp_path, moto_endpoint, resources, Outputs=outputs, Conditions=conditions)

    (stack,) = client("cloudformation", moto_endpoint).describe_stacks(StackName="Small")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["StackId"] == deployment.stack_id
    values = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    queue_url = client("sqs", moto_endpoint).get_queue_url(QueueName="failures")["QueueUrl"]
    assert (
        values
        == deployment.outputs
        == {
            "QueueUrl": queue_url,
            "QueueArn": f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT_ID}:failures",
        }
    )
    assert {o.get("ExportName") for o in stack["Outputs"]} == {"QueueUrl-dev", None}


def test_stack_id_is_the_registered_stacks(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Q": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": "q", "Tags": [{"Key": "Stack", "Value": {"Ref": "AWS::StackId"}}]},
        }
    }
    deployment = deploy(
        tmp_path, moto_endpoint, resources, Outputs={"Id": {"Value": {"Ref": "AWS::StackId"}}}
    )

    (stack,) = client("cloudformation", moto_endpoint).describe_stacks(StackName="Small")["Stacks"]
    assert stack["Outputs"][0]["OutputValue"] == stack["StackId"] == deployment.stack_id
    url = deployment.physical_ids["Q"]
    assert client("sqs", moto_endpoint).list_queue_tags(QueueUrl=url)["Tags"] == {"Stack": stack["StackId"]}


def test_conditioned_resources_are_skipped_when_false(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Kept": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "kept"}},
        "Skipped": {"Type": "AWS::SQS::Queue", "Condition": "IsProd", "Properties": {"QueueName": "skipped"}},
    }
    conditions = {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}}
    parameters = {"Env": {"Type": "String", "Default": "dev"}}
    deployment = deploy(tmp_path, moto_endpoint, resources, Conditions=conditions, Parameters=parameters)

    urls = client("sqs", moto_endpoint).list_queues()["QueueUrls"]
    assert [url.rsplit("/", 1)[-1] for url in urls] == ["kept"]
    assert "Skipped" not in deployment.physical_ids


def test_resources_listed_before_their_dependencies_are_created_after_them(
    tmp_path: Path, moto_endpoint: str
) -> None:
    # Template order is the reverse of what the rule needs: the rule references the bus and
    # the queue, and the bus DependsOn the queue.
    resources = {
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "r",
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {"source": ["x"]},
                "Targets": [{"Id": "q", "Arn": {"Fn::GetAtt": ["Queue", "Arn"]}}],
            },
        },
        "Bus": {"Type": "AWS::Events::EventBus", "DependsOn": "Queue", "Properties": {"Name": "bus"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}},
    }
    deployment = deploy(tmp_path, moto_endpoint, resources)

    assert list(deployment.physical_ids) == ["Queue", "Bus", "Rule"]
    targets = client("events", moto_endpoint).list_targets_by_rule(Rule="r", EventBusName="bus")["Targets"]
    assert targets[0]["Arn"] == f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT_ID}:q"


def test_a_stack_already_provisioned_on_the_endpoint_is_an_error(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}}}
    deploy(tmp_path, moto_endpoint, resources)
    with pytest.raises(StackExistsError, match="Small is already provisioned"):
        deploy(tmp_path, moto_endpoint, resources)


def test_another_region_is_resolved_and_used(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": {"Fn::Sub": "data-${AWS::Region}"}},
        },
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/x"}},
    }
    (tmp_path / "Small.template.json").write_text(json.dumps({"Resources": resources}))

    deployment = provision(tmp_path, "Small", endpoint_url=moto_endpoint, region="eu-west-1")

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="eu-west-1")
    assert s3.get_bucket_location(Bucket="data-eu-west-1")["LocationConstraint"] == "eu-west-1"
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="eu-west-1")
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/x"]
    assert deployment.region == "eu-west-1"
    assert deployment.stack_id.startswith("arn:aws:cloudformation:eu-west-1:")


# --------------------------------------------------------------------------- the real stack


def test_the_synthesized_tap_stack_provisions_end_to_end(
    cloud_assembly: Path, stack_name: str, moto_endpoint: str
) -> None:
    template = json.loads((cloud_assembly / f"{stack_name}.template.json").read_text())

    deployment = provision(cloud_assembly, stack_name, endpoint_url=moto_endpoint, region=REGION)

    created = {lid for lid, res in template["Resources"].items() if "Condition" not in res}
    assert set(deployment.physical_ids) == created
    (stack,) = client("cloudformation", moto_endpoint).describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs == deployment.outputs and set(outputs) == set(template["Outputs"])

    # Storage: the bucket and the table, with the template's properties.
    s3 = client("s3", moto_endpoint)
    bucket = outputs["S3BucketName"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_object(Bucket=bucket, Key="probe.txt", Body=b"x")  # the TLS-only Deny is recorded, not enforced
    table = client("dynamodb", moto_endpoint).describe_table(TableName=outputs["DynamoDBTableName"])["Table"]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == contract.TIME_INDEX_NAME
    assert [k["AttributeName"] for k in index["KeySchema"]] == [
        contract.TIME_INDEX_PARTITION_KEY,
        contract.TIME_INDEX_SORT_KEY,
    ]
    # The template's INCLUDE projection reaches the emulator: the index leaves eventState out.
    assert index["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": list(contract.TIME_INDEX_PROJECTED_ATTRIBUTES),
    }

    # Events: both rules on the bus, enabled, with the contract's source and detail-types.
    events = client("events", moto_endpoint)
    rules = events.list_rules(EventBusName=outputs["EventBusName"])["Rules"]
    patterns = {
        json.loads(rule["EventPattern"])["detail-type"][0] for rule in rules if rule["State"] == "ENABLED"
    }
    assert patterns == {contract.DETAIL_TYPE_SUCCESS, contract.DETAIL_TYPE_ERROR}
    # Every log group and queue carries the template's retention.
    logs = client("logs", moto_endpoint)
    retention = {g["logGroupName"]: g.get("retentionInDays") for g in logs.describe_log_groups()["logGroups"]}
    sqs = client("sqs", moto_endpoint)
    for lid, res in template["Resources"].items():
        properties = res.get("Properties", {})
        if res["Type"] == "AWS::Logs::LogGroup":
            assert retention[deployment.physical_ids[lid]] == properties.get("RetentionInDays")
        if res["Type"] == "AWS::SQS::Queue" and "MessageRetentionPeriod" in properties:
            queue = sqs.get_queue_attributes(QueueUrl=deployment.physical_ids[lid], AttributeNames=["All"])
            assert queue["Attributes"]["MessageRetentionPeriod"] == str(properties["MessageRetentionPeriod"])
    assert outputs["EventLogGroupName"] in retention

    # Processing: the processor and the publisher, each environment resolved to the deployed names.
    by_handler = {function.handler: function for function in deployment.functions.values()}
    assert set(by_handler) == {contract.HANDLER, contract.PUBLISHER_HANDLER}
    spec, publisher = by_handler[contract.HANDLER], by_handler[contract.PUBLISHER_HANDLER]
    assert spec.arn == outputs["LambdaFunctionArn"]
    assert spec.environment[contract.ENV_TABLE_NAME] == outputs["DynamoDBTableName"]
    assert contract.ENV_EVENT_BUS_NAME not in spec.environment
    assert publisher.name == outputs["PublisherFunctionName"]
    assert publisher.environment[contract.ENV_EVENT_BUS_NAME] == outputs["EventBusName"]
    (mapping,) = deployment.stream_mappings
    dynamodb = client("dynamodb", moto_endpoint)
    table_description = dynamodb.describe_table(TableName=outputs["DynamoDBTableName"])["Table"]
    assert mapping.event_source_arn == table_description["LatestStreamArn"]
    assert mapping.function_arn == publisher.arn and mapping.starting_position == "TRIM_HORIZON"
    assert (mapping.batch_size, mapping.maximum_retry_attempts, mapping.maximum_record_age_seconds) == (
        contract.PUBLISHER_BATCH_SIZE,
        contract.PUBLISHER_RETRY_ATTEMPTS,
        contract.PUBLISHER_MAX_RECORD_AGE_SECONDS,
    )
    assert mapping.bisect_batch_on_function_error and mapping.report_batch_item_failures
    assert str(mapping.on_failure_arn).endswith(f":{contract.PUBLISHER_FAILURE_QUEUE_PREFIX}-dev")
    template_environment = template["Resources"][spec.logical_id]["Properties"]["Environment"]["Variables"]
    assert spec.environment == {
        key: deployment.physical_ids[value["Ref"]] if isinstance(value, dict) else value
        for key, value in template_environment.items()
    }
    assert spec.tracing_active
    assert spec.async_config.on_failure_arn == outputs["FailureQueueArn"]
    attributes = sqs.get_queue_attributes(QueueUrl=outputs["FailureQueueUrl"], AttributeNames=["QueueArn"])
    assert attributes["Attributes"]["QueueArn"] == outputs["FailureQueueArn"]
    sqs.send_message(QueueUrl=outputs["FailureQueueUrl"], MessageBody="{}")  # its policy lets us in
    (notification,) = deployment.notifications
    assert (notification.bucket, notification.function_arn) == (bucket, spec.arn)
    assert notification.events == ("s3:ObjectCreated:*",)
    assert bucket in deployment.auto_delete_buckets

    # Monitoring, whatever the stack holds: every alarm exists under its deployed name.
    alarms = sorted(
        deployment.physical_ids[lid]
        for lid, res in template["Resources"].items()
        if res["Type"] == "AWS::CloudWatch::Alarm"
    )
    described_alarms = client("cloudwatch", moto_endpoint).describe_alarms(AlarmNames=alarms)["MetricAlarms"]
    assert sorted(alarm["AlarmName"] for alarm in described_alarms) == alarms
