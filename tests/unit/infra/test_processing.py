"""The processor function, its log group, async invocation and failure queue."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template

from s3flow import contract

from .conftest import Synthesized


def test_function_runtime_tracing_size_timeout_and_description(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "s3-object-processor-dev",
            "Runtime": "python3.13",
            "Handler": contract.HANDLER,
            "TracingConfig": {"Mode": "Active"},
            "MemorySize": 256,
            "Timeout": 300,
            "Description": "Process S3 object creation events with tracing: one record per object version",
        },
    )


def test_function_environment_names_the_table_and_environment_but_no_bus(
    synthesized: Synthesized, template: Template
) -> None:
    stack = synthesized.stack
    function = template.find_resources("AWS::Lambda::Function")[
        synthesized.logical_id(stack.processing.function)
    ]
    # Exactly these: the processor only writes records (the publisher sends the events).
    assert function["Properties"]["Environment"]["Variables"] == {
        contract.ENV_TABLE_NAME: {"Ref": synthesized.logical_id(stack.storage.table)},
        contract.ENV_ENVIRONMENT: "dev",
        contract.ENV_TIME_INDEX_SHARDS: str(contract.DEFAULT_TIME_INDEX_SHARDS),
    }


def test_function_has_no_layers_so_no_hard_coded_insights_arn(template: Template) -> None:
    # The reference attached LambdaInsightsExtension:14 by literal ARN (as "XRayLayer").
    template.has_resource_properties(
        "AWS::Lambda::Function", {"FunctionName": "s3-object-processor-dev", "Layers": Match.absent()}
    )
    for function in template.find_resources("AWS::Lambda::Function").values():
        assert "LambdaInsightsExtension" not in str(function["Properties"].get("Layers", ""))


def test_function_logs_to_its_own_log_group_with_retention(
    synthesized: Synthesized, template: Template
) -> None:
    log_group_id = synthesized.logical_id(synthesized.stack.processing.log_group)
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "/aws/lambda/s3-object-processor-dev", "RetentionInDays": 30}
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"FunctionName": "s3-object-processor-dev", "LoggingConfig": {"LogGroup": {"Ref": log_group_id}}},
    )


def test_failed_async_invocations_are_retried_then_kept_in_the_failure_queue(
    synthesized: Synthesized, template: Template
) -> None:
    processing = synthesized.stack.processing
    queue_id = synthesized.logical_id(processing.failure_queue)
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": synthesized.logical_id(processing.function)},
            "Qualifier": "$LATEST",
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 6 * 3600,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        },
    )


def test_failure_queue_is_encrypted_and_keeps_messages_14_days(template: Template) -> None:
    template.has_resource(
        "AWS::SQS::Queue",
        {
            "Properties": {
                "QueueName": "s3-object-processor-failures-dev",
                "SqsManagedSseEnabled": True,
                "MessageRetentionPeriod": 14 * 86400,
            },
            "DeletionPolicy": "Delete",
        },
    )


def test_role_is_assumed_by_lambda_and_uses_no_aws_managed_policy(
    synthesized: Synthesized, template: Template
) -> None:
    role = template.find_resources("AWS::IAM::Role")[
        synthesized.logical_id(synthesized.stack.processing.role)
    ]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]
