"""The time index: each record reaches it with one write, and serves what readers show.

The processor writes each item once (no later rewrite), so DynamoDB writes the index once
per item; a step error replaced by a later success stays one index entry (same key).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from s3flow import contract
from s3flow.cli.time_range import query_time_range
from s3flow.functions.processor.store import from_dynamo, put_new, replace_step_error
from support.functions import TABLE

INDEX_HOLDS = {
    contract.TABLE_PARTITION_KEY,
    contract.TABLE_SORT_KEY,
    contract.TIME_INDEX_PARTITION_KEY,
    *contract.TIME_INDEX_PROJECTED_ATTRIBUTES,
}
DAY = datetime(2026, 11, 24, tzinfo=UTC)  # of the sample events


def test_each_item_is_written_once_with_everything_the_index_holds(aws, invoke, api_calls) -> None:
    # GIVEN an event with valid object records and bad records (object and error items)
    invoke("s3_mixed_valid_invalid_other")

    # THEN every item is one PutItem carrying all the attributes the index projects
    assert [c.operation for c in api_calls.of("dynamodb") if c.operation != "PutItem"] == []
    puts = [from_dynamo(call.params["Item"]) for call in api_calls.of("dynamodb", "PutItem")]
    written = [item[contract.TABLE_PARTITION_KEY] for item in puts]
    assert len(written) == len(set(written)) == len(aws.items()) == 3
    assert {item["status"] for item in puts} == {contract.STATUS_SUCCESS, contract.STATUS_ERROR}
    for item in puts:
        assert {contract.TIME_INDEX_PARTITION_KEY, "status", "eventTime"} <= set(item)


def test_a_replaced_step_error_stays_one_index_entry(aws) -> None:
    item: dict[str, Any] = {
        contract.TABLE_PARTITION_KEY: "a" * 64,
        contract.TABLE_SORT_KEY: "2026-11-24T10:15:30.123Z",
        contract.TIME_INDEX_PARTITION_KEY: "2026-11-24#0",
        "status": contract.STATUS_ERROR,
        "failedStep": "checksum",
        "errorMessage": "boom",
    }
    put_new(aws.table_writer, TABLE, item)

    success = {name: value for name, value in item.items() if name not in ("failedStep", "errorMessage")}
    replace_step_error(aws.table_writer, TABLE, {**success, "status": contract.STATUS_SUCCESS})

    [entry] = query_time_range(aws.dynamodb, TABLE, DAY, DAY + timedelta(days=1))
    assert entry["status"] == contract.STATUS_SUCCESS


def test_the_index_serves_what_readers_show(aws, invoke) -> None:
    invoke("s3_put_five")

    found = query_time_range(aws.dynamodb, TABLE, DAY, DAY + timedelta(days=1), shards=4)

    assert len(found) == len(aws.items()) == 5
    for entry in found:
        assert {"status", "bucketName", "objectKey", "size", "eventTime"} <= set(entry)
        assert set(entry) <= INDEX_HOLDS
