"""The outbox publisher: its function, stream mapping, failure queue, role and log group."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from s3flow import contract
from s3flow.local.event_sources.dynamodb_stream import parse_filters

from .conftest import Synthesized

PUBLISHER_NAME = f"{contract.PUBLISHER_FUNCTION_PREFIX}-dev"


def _resource(synthesized: Synthesized, construct: Any) -> dict[str, Any]:
    resources = synthesized.template.to_json()["Resources"]
    return dict(resources[synthesized.logical_id(construct)])


def _mapping(template: Template) -> dict[str, Any]:
    (mapping,) = template.find_resources("AWS::Lambda::EventSourceMapping").values()
    return dict(mapping["Properties"])


def test_publisher_runs_its_handler_of_the_asset_on_arm64_python_313_traced(template: Template) -> None:
    assert PUBLISHER_NAME == "s3-event-publisher-dev"
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": PUBLISHER_NAME,
            "Handler": contract.PUBLISHER_HANDLER,
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "TracingConfig": {"Mode": "Active"},
            "MemorySize": 256,
            "Timeout": 300,
            "Layers": Match.absent(),
        },
    )


def test_publisher_environment_is_the_bus_its_failure_queue_and_the_environment_only(
    synthesized: Synthesized,
) -> None:
    stack = synthesized.stack
    function = _resource(synthesized, stack.publishing.function)
    assert function["Properties"]["Environment"]["Variables"] == {
        contract.ENV_EVENT_BUS_NAME: {"Ref": synthesized.logical_id(stack.events.bus)},
        contract.ENV_ENVIRONMENT: "dev",
        contract.ENV_PUBLISHER_FAILURE_QUEUE_URL: {
            "Ref": synthesized.logical_id(stack.publishing.failure_queue)
        },
    }


@pytest.mark.parametrize("setting", ["Runtime", "Architectures", "MemorySize", "Timeout", "TracingConfig"])
def test_both_functions_share_the_runtime_settings(synthesized: Synthesized, setting: str) -> None:
    stack = synthesized.stack
    processor = _resource(synthesized, stack.processing.function)["Properties"]
    publisher = _resource(synthesized, stack.publishing.function)["Properties"]
    assert publisher[setting] == processor[setting]


def test_both_functions_run_the_one_bundled_asset(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    codes = [
        _resource(synthesized, function)["Properties"]["Code"]
        for function in (stack.processing.function, stack.publishing.function)
    ]
    assert codes[0] == codes[1]
    assert (synthesized.assembly_dir / f"asset.{codes[0]['S3Key'].removesuffix('.zip')}").is_dir()
    # One asset construct, under the function that bound the code first: bundled once.
    assert stack.processing.function.node.try_find_child("Code") is not None
    assert stack.publishing.function.node.try_find_child("Code") is None


def test_publisher_logs_to_its_own_log_group_with_retention(
    synthesized: Synthesized, template: Template
) -> None:
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": f"/aws/lambda/{PUBLISHER_NAME}", "RetentionInDays": 30}
    )
    function = _resource(synthesized, synthesized.stack.publishing.function)
    assert function["Properties"]["LoggingConfig"] == {
        "LogGroup": {"Ref": synthesized.logical_id(synthesized.stack.publishing.log_group)}
    }


def test_stream_mapping_has_every_contract_setting(synthesized: Synthesized, template: Template) -> None:
    stack = synthesized.stack
    mapping = _mapping(template)
    assert mapping.pop("Tags")
    assert mapping.pop("FilterCriteria")  # its pattern: the next test
    assert mapping == {
        "EventSourceArn": {"Fn::GetAtt": [synthesized.logical_id(stack.storage.table), "StreamArn"]},
        "FunctionName": {"Ref": synthesized.logical_id(stack.publishing.function)},
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": contract.PUBLISHER_BATCH_SIZE,
        "MaximumRetryAttempts": contract.PUBLISHER_RETRY_ATTEMPTS,
        "BisectBatchOnFunctionError": True,
        "MaximumRecordAgeInSeconds": contract.PUBLISHER_MAX_RECORD_AGE_SECONDS,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "DestinationConfig": {
            "OnFailure": {
                "Destination": {"Fn::GetAtt": [synthesized.logical_id(stack.publishing.failure_queue), "Arn"]}
            }
        },
    }
    # Absent settings matter too: one batch per shard at a time keeps each item's records in order.
    assert "ParallelizationFactor" not in mapping and "TumblingWindowInSeconds" not in mapping
    assert (contract.PUBLISHER_BATCH_SIZE, contract.PUBLISHER_RETRY_ATTEMPTS) == (100, 10)
    assert contract.PUBLISHER_MAX_RECORD_AGE_SECONDS == 21600


def test_stream_mapping_passes_inserts_and_modifies_and_drops_removes(template: Template) -> None:
    # DynamoDB event source mappings filter only on the `dynamodb` key
    # (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html): a record with a
    # new image is an INSERT or a MODIFY; a REMOVE has only the old one.
    (only_filter,) = _mapping(template)["FilterCriteria"]["Filters"]
    pattern = json.loads(only_filter["Pattern"])
    assert list(pattern) == ["dynamodb"]
    (filters,) = parse_filters([only_filter["Pattern"]])
    image = {contract.TABLE_PARTITION_KEY: {"S": "k"}, contract.TABLE_SORT_KEY: {"S": "t"}}
    assert filters.matches_event({"eventName": "INSERT", "dynamodb": {"NewImage": image}})
    assert filters.matches_event({"eventName": "MODIFY", "dynamodb": {"NewImage": image, "OldImage": image}})
    assert not filters.matches_event({"eventName": "REMOVE", "dynamodb": {"OldImage": image}})


def test_stream_mapping_is_created_after_the_role_may_read_the_stream(synthesized: Synthesized) -> None:
    # Lambda checks the role's stream permissions when the mapping is created; the mapping
    # references the function, which waits for the role's policy.
    stack = synthesized.stack
    function = _resource(synthesized, stack.publishing.function)
    policy_id = synthesized.logical_id(stack.publishing.role.node.find_child("DefaultPolicy"))
    assert policy_id in function["DependsOn"]


def test_publisher_failure_queue_is_encrypted_and_keeps_batches_14_days(template: Template) -> None:
    template.has_resource(
        "AWS::SQS::Queue",
        {
            "Properties": {
                "QueueName": f"{contract.PUBLISHER_FAILURE_QUEUE_PREFIX}-dev",
                "SqsManagedSseEnabled": True,
                "MessageRetentionPeriod": 14 * 86400,
            },
            "DeletionPolicy": "Delete",
        },
    )


def test_publisher_is_only_invoked_by_its_stream(synthesized: Synthesized, template: Template) -> None:
    # No async invoke config and no resource policy: nothing but the mapping calls it.
    publisher = {"Ref": synthesized.logical_id(synthesized.stack.publishing.function)}
    for config in template.find_resources("AWS::Lambda::EventInvokeConfig").values():
        assert config["Properties"]["FunctionName"] != publisher
    for permission in template.find_resources("AWS::Lambda::Permission").values():
        assert permission["Properties"]["FunctionName"] != {"Fn::GetAtt": [publisher["Ref"], "Arn"]}
        assert permission["Properties"]["FunctionName"] != publisher


def test_publisher_role_is_assumed_by_lambda_and_uses_no_aws_managed_policy(synthesized: Synthesized) -> None:
    role = _resource(synthesized, synthesized.stack.publishing.role)
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]
