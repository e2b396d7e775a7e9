"""``AWS::DynamoDB::Table``, created in moto: keys, GSIs/LSIs, billing, streams, SSE, TTL,
tags, PITR via ``UpdateContinuousBackups``. A table's ``StreamSpecification`` goes to moto,
whose stream ARN is ``Fn::GetAtt Table.StreamArn``."""

from __future__ import annotations

from typing import Any

from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType


def _table(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    name = ctx.name(logical_id, props.get("TableName"), max_length=255)
    args: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    # Index shapes are the same in CloudFormation and the API; boto3 validates them.
    for key in (
        "ProvisionedThroughput",
        "TableClass",
        "DeletionProtectionEnabled",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
    ):
        if key in props:
            args[key] = props[key]
    if "StreamSpecification" in props:
        args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        args["SSESpecification"] = {
            "Enabled": bool(sse.get("SSEEnabled")),
            **{key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse},
        }
    if props.get("Tags"):
        args["Tags"] = props["Tags"]
    dynamodb = ctx.client("dynamodb")
    table = dynamodb.create_table(**args)["TableDescription"]
    pitr = props.get("PointInTimeRecoverySpecification", {})
    if pitr.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=pitr)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    attributes = {"Arn": table["TableArn"]}
    if "LatestStreamArn" in table:
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Created(name, attributes)


TABLE = ResourceType(
    "AWS::DynamoDB::Table",
    known_properties=frozenset(
        [
            "TableName",
            "AttributeDefinitions",
            "KeySchema",
            "BillingMode",
            "ProvisionedThroughput",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "StreamSpecification",
            "SSESpecification",
            "Tags",
            "TableClass",
            "DeletionProtectionEnabled",
            "PointInTimeRecoverySpecification",
            "TimeToLiveSpecification",
        ]
    ),
    create=_table,
)
