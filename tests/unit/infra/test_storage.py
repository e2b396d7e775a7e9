"""The record table with its time index, the trigger bucket and its access-log bucket."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from s3flow import contract

from .conftest import Synthesized

TRIGGER_BUCKET_NAME = {"Fn::Join": ["", ["object-trigger-bucket-dev-", {"Ref": "AWS::AccountId"}]]}
ACCESS_LOG_BUCKET_NAME = {"Fn::Join": ["", ["object-trigger-access-logs-dev-", {"Ref": "AWS::AccountId"}]]}
BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}
SSE_S3 = {
    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
}


def test_table_is_on_demand_with_pitr_and_the_contract_keys(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "lambda-invocation-logs-dev",
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "KeySchema": [
                {"AttributeName": contract.TABLE_PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": contract.TABLE_SORT_KEY, "KeyType": "RANGE"},
            ],
            "SSESpecification": {"SSEEnabled": True},
        },
    )


def test_table_is_destroyed_with_the_stack(template: Template) -> None:
    template.has_resource(
        "AWS::DynamoDB::Table", {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}
    )


def test_time_index_partitions_by_day_bucket_not_by_timestamp(template: Template) -> None:
    # The reference keyed the index on `timestamp` alone: one partition per item and no
    # range query. Day-and-shard buckets make T1..T2 one Query per (day, shard).
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": contract.TIME_INDEX_NAME,
                    "KeySchema": [
                        {"AttributeName": "timeBucket", "KeyType": "HASH"},
                        {"AttributeName": "timestamp", "KeyType": "RANGE"},
                    ],
                    "Projection": Match.any_value(),
                }
            ],
            "AttributeDefinitions": Match.array_with(
                [{"AttributeName": contract.TIME_INDEX_PARTITION_KEY, "AttributeType": "S"}]
            ),
        },
    )
    assert contract.TIME_INDEX_PARTITION_KEY == "timeBucket"
    assert contract.TIME_INDEX_SORT_KEY == "timestamp"


def _time_index(template: Template) -> dict[str, Any]:
    (table,) = template.find_resources("AWS::DynamoDB::Table").values()
    (index,) = (
        index
        for index in table["Properties"]["GlobalSecondaryIndexes"]
        if index["IndexName"] == contract.TIME_INDEX_NAME
    )
    return index


def test_time_index_projects_the_contract_attributes_and_never_the_event_state(template: Template) -> None:
    # GIVEN the synthesized time index
    projection = _time_index(template)["Projection"]
    # THEN it carries exactly the contract's list, so the PUBLISHED rewrite (which changes
    # only eventState) writes the table alone, not the index
    assert projection == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": list(contract.TIME_INDEX_PROJECTED_ATTRIBUTES),
    }
    assert "eventState" not in projection["NonKeyAttributes"]
    assert "processedAt" not in projection["NonKeyAttributes"]
    keys = {contract.TABLE_PARTITION_KEY, contract.TABLE_SORT_KEY, contract.TIME_INDEX_PARTITION_KEY}
    assert not keys & set(projection["NonKeyAttributes"])  # keys are projected anyway; AWS rejects them here


def test_trigger_bucket_is_versioned_encrypted_private_and_sends_no_eventbridge_events(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": TRIGGER_BUCKET_NAME,
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": SSE_S3,
            "PublicAccessBlockConfiguration": BLOCK_ALL,
            "NotificationConfiguration": Match.absent(),
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "DeleteIncompleteMultipartUploads",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        "Status": "Enabled",
                    }
                ]
            },
            "Tags": Match.array_with([{"Key": "aws-cdk:auto-delete-objects", "Value": "true"}]),
        },
    )


def test_trigger_bucket_objects_are_deleted_with_the_stack(
    synthesized: Synthesized, template: Template
) -> None:
    bucket_id = synthesized.logical_id(synthesized.stack.storage.bucket)
    template.has_resource(
        "AWS::S3::Bucket", {"Properties": {"BucketName": TRIGGER_BUCKET_NAME}, "DeletionPolicy": "Delete"}
    )
    template.has_resource_properties("Custom::S3AutoDeleteObjects", {"BucketName": {"Ref": bucket_id}})


def test_object_created_notification_goes_to_the_processor(
    synthesized: Synthesized, template: Template
) -> None:
    stack = synthesized.stack
    function_id = synthesized.logical_id(stack.processing.function)
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "BucketName": {"Ref": synthesized.logical_id(stack.storage.bucket)},
            "NotificationConfiguration": {
                "LambdaFunctionConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "LambdaFunctionArn": {"Fn::GetAtt": [function_id, "Arn"]},
                    }
                ]
            },
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "Principal": "s3.amazonaws.com",
            "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
            "SourceArn": {"Fn::GetAtt": [synthesized.logical_id(stack.storage.bucket), "Arn"]},
        },
    )


def test_trigger_bucket_writes_server_access_logs_to_its_log_bucket(
    synthesized: Synthesized, template: Template
) -> None:
    log_bucket_id = synthesized.logical_id(synthesized.stack.storage.access_log_bucket)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": TRIGGER_BUCKET_NAME,
            "LoggingConfiguration": {
                "DestinationBucketName": {"Ref": log_bucket_id},
                "LogFilePrefix": Match.any_value(),
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": ACCESS_LOG_BUCKET_NAME,
            "BucketEncryption": SSE_S3,
            "PublicAccessBlockConfiguration": BLOCK_ALL,
            "VersioningConfiguration": {"Status": "Enabled"},
            "AccessControl": Match.absent(),  # log delivery is granted by bucket policy, not ACL
            "LifecycleConfiguration": {
                "Rules": Match.array_with([Match.object_like({"ExpirationInDays": 90})])
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": log_bucket_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject"}
                        )
                    ]
                )
            },
        },
    )


def test_table_streams_each_write_with_the_item_before_and_after(template: Template) -> None:
    # The outbox: the publisher reads new records (and a retried record's old status) here.
    (table,) = template.find_resources("AWS::DynamoDB::Table").values()
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": contract.STREAM_VIEW_TYPE}
    assert contract.STREAM_VIEW_TYPE == "NEW_AND_OLD_IMAGES"
