"""DynamoDB's state: items, and stream records with their sequence numbers, survive; restoring
writes no stream record, and the next write continues the stream after the restored ones."""

from __future__ import annotations

from moto import mock_aws

from s3flow.local.event_sources.dynamodb_stream import MotoStreamReader
from s3flow.local.state import dynamodb

from .conftest import ACCOUNT, REGION, client, through_json

TABLE = "records"


def _provision() -> str:
    """The table with its stream, as the template creates it; its stream's ARN."""
    table = client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return str(table["TableDescription"]["LatestStreamArn"])


def _stream(stream_arn: str) -> list[dict]:
    """The stream's records as Lambda gets them, but for the stream's ARN: its label is the
    time the stream was made, so a stream provisioned again has a new one."""
    reader = MotoStreamReader(ACCOUNT, REGION)
    (shard,) = reader.shards(stream_arn)
    return [
        {name: value for name, value in record.body.items() if name != "eventSourceARN"}
        for record in reader.read(stream_arn, shard, None, 1000)
    ]


def _items() -> list[dict]:
    return sorted(client("dynamodb").scan(TableName=TABLE)["Items"], key=lambda item: item["pk"]["S"])


def test_items_and_stream_records_come_back_and_the_stream_goes_on_after_them():
    with mock_aws():
        stream_arn = _provision()
        table = client("dynamodb")
        table.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "size": {"N": "1.10"}})
        table.put_item(TableName=TABLE, Item={"pk": {"S": "b"}, "tags": {"SS": ["x", "y"]}})
        table.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "size": {"N": "2"}})
        items, records = _items(), _stream(stream_arn)
        saved = through_json(dynamodb.export(ACCOUNT, REGION))

    with mock_aws():
        stream_arn = _provision()
        missing = dynamodb.restore(ACCOUNT, REGION, saved)

        assert missing == []
        assert _items() == items
        assert _stream(stream_arn) == records  # the same records, and none written by the restore
        client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": "c"}})
        after = _stream(stream_arn)
        assert len(after) == 4
        last = int(records[-1]["dynamodb"]["SequenceNumber"])
        assert int(after[-1]["dynamodb"]["SequenceNumber"]) == last + 1
        assert after[-1]["eventName"] == "INSERT"


def test_a_table_the_stack_no_longer_has_is_named_not_restored():
    with mock_aws():
        _provision()
        client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": "a"}})
        saved = through_json(dynamodb.export(ACCOUNT, REGION))

    with mock_aws():
        assert dynamodb.restore(ACCOUNT, REGION, saved) == [f"table {TABLE} (items: 1)"]
