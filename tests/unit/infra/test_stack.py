"""Stack-wide contract: environment suffix, tags and outputs with their export names."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from s3flow.infra.app import cdk_json_context
from s3flow.infra.stack import resolve_environment_suffix

from .conftest import Synthesized

OUTPUTS = [
    "DynamoDBTableName",
    "DynamoDBTableArn",
    "LambdaFunctionName",
    "LambdaFunctionArn",
    "S3BucketName",
    "S3BucketArn",
    "EventBusName",
    "EventBusArn",
    "EventLogGroupName",
    "FailureQueueUrl",
    "FailureQueueArn",
    "EventDeadLetterQueueUrl",
    "EventDeadLetterQueueArn",
    "PublisherFunctionName",
    "PublisherFailureQueueUrl",
    "AccessLogBucketName",
    "AlarmTopicArn",
    "DashboardName",
]


def _stack(context: dict[str, str] | None = None) -> cdk.Stack:
    return cdk.Stack(cdk.App(context=context or {}), "Probe")


def test_suffix_prop_wins_over_context() -> None:
    assert resolve_environment_suffix(_stack({"environmentSuffix": "ctx"}), "prop") == "prop"


def test_suffix_falls_back_to_context() -> None:
    assert resolve_environment_suffix(_stack({"environmentSuffix": "ctx"}), None) == "ctx"


def test_suffix_defaults_to_dev() -> None:
    assert resolve_environment_suffix(_stack(), None) == "dev"


def test_app_builds_stack_tapstack_dev_by_default(synthesized: Synthesized) -> None:
    assert synthesized.stack.stack_name == "TapStackdev"
    assert synthesized.stack.environment_suffix == "dev"


@pytest.mark.parametrize(
    ("resource_type", "name_property", "name", "purpose"),
    [
        ("AWS::DynamoDB::Table", "TableName", "lambda-invocation-logs-dev", "LambdaInvocationLogging"),
        ("AWS::Lambda::Function", "FunctionName", "s3-object-processor-dev", "S3EventProcessing"),
        ("AWS::Events::EventBus", "Name", "processing-events-dev", "EventRouting"),
        ("AWS::SQS::Queue", "QueueName", "s3-object-processor-failures-dev", "FailedInvocationRetention"),
        ("AWS::SQS::Queue", "QueueName", "processing-events-dlq-dev", "UndeliveredEventRetention"),
        ("AWS::Lambda::Function", "FunctionName", "s3-event-publisher-dev", "OutboxEventPublishing"),
        (
            "AWS::SQS::Queue",
            "QueueName",
            "s3-event-publisher-failures-dev",
            "UnpublishedBatchRetention",
        ),
    ],
)
def test_resources_are_tagged_with_environment_and_purpose(
    template: Template, resource_type: str, name_property: str, name: str, purpose: str
) -> None:
    resources = template.find_resources(resource_type, {"Properties": {name_property: name}})
    assert len(resources) == 1
    (resource,) = resources.values()
    tags = {tag["Key"]: tag["Value"] for tag in resource["Properties"]["Tags"]}
    assert tags["Environment"] == "dev"
    assert tags["Purpose"] == purpose


def test_trigger_bucket_is_tagged(synthesized: Synthesized, template: Template) -> None:
    bucket = template.find_resources("AWS::S3::Bucket")[
        synthesized.logical_id(synthesized.stack.storage.bucket)
    ]
    tags = {tag["Key"]: tag["Value"] for tag in bucket["Properties"]["Tags"]}
    assert tags["Environment"] == "dev"
    assert tags["Purpose"] == "LambdaTrigger"


@pytest.mark.parametrize("output_id", OUTPUTS)
def test_output_is_exported_with_the_suffix(template: Template, output_id: str) -> None:
    template.has_output(output_id, {"Export": {"Name": f"{output_id}-dev"}})


def test_output_values_point_at_the_right_resources(synthesized: Synthesized, template: Template) -> None:
    stack = synthesized.stack
    table = synthesized.logical_id(stack.storage.table)
    function = synthesized.logical_id(stack.processing.function)
    bucket = synthesized.logical_id(stack.storage.bucket)
    bus = synthesized.logical_id(stack.events.bus)
    queue = synthesized.logical_id(stack.processing.failure_queue)
    expected = {
        "DynamoDBTableName": {"Ref": table},
        "DynamoDBTableArn": {"Fn::GetAtt": [table, "Arn"]},
        "LambdaFunctionName": {"Ref": function},
        "LambdaFunctionArn": {"Fn::GetAtt": [function, "Arn"]},
        "S3BucketName": {"Ref": bucket},
        "S3BucketArn": {"Fn::GetAtt": [bucket, "Arn"]},
        "EventBusName": {"Ref": bus},
        "EventBusArn": {"Fn::GetAtt": [bus, "Arn"]},
        "EventLogGroupName": {"Ref": synthesized.logical_id(stack.events.log_group)},
        "FailureQueueUrl": {"Ref": queue},
        "FailureQueueArn": {"Fn::GetAtt": [queue, "Arn"]},
        "PublisherFunctionName": {"Ref": synthesized.logical_id(stack.publishing.function)},
        "PublisherFailureQueueUrl": {"Ref": synthesized.logical_id(stack.publishing.failure_queue)},
    }
    for output_id, value in expected.items():
        template.has_output(output_id, {"Value": value})


def test_xray_service_map_output_has_no_export(template: Template) -> None:
    outputs = template.find_outputs("XRayServiceMap")
    assert len(outputs) == 1
    (output,) = outputs.values()
    assert "Export" not in output
    assert "xray/home" in str(output["Value"])


def test_app_applies_cdk_json_feature_flags_without_the_cli(synthesized: Synthesized) -> None:
    # `python app.py` and these tests do not go through the CDK CLI, which is what
    # normally feeds cdk.json's context to the app; create_app does it instead.
    flags = cdk_json_context()
    assert flags["@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"] is True
    for flag, value in flags.items():
        assert synthesized.stack.node.try_get_context(flag) == value, flag
