"""AWS::DynamoDB::Table on moto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import client, deploy

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


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
