"""The PUBLISHED rewrite changes nothing the time index holds, so DynamoDB writes the index once per item.

DynamoDB updates a global secondary index only when an item's index keys or projected
attributes change; the index leaves ``eventState`` out (``contract.TIME_INDEX_PROJECTED_ATTRIBUTES``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from processor_support import TABLE

from s3flow import contract
from s3flow.processor.store import from_dynamo
from s3flow.processor.time_index import query_time_range

INDEX_HOLDS = {
    contract.TABLE_PARTITION_KEY,
    contract.TABLE_SORT_KEY,
    contract.TIME_INDEX_PARTITION_KEY,
    *contract.TIME_INDEX_PROJECTED_ATTRIBUTES,
}


def _writes(api_calls: Any) -> dict[str, list[dict[str, Any]]]:
    """Every item image written, per requestId, in call order (the PENDING put, then the rewrite)."""
    written: dict[str, list[dict[str, Any]]] = {}
    for call in api_calls.of("dynamodb"):
        if call.operation == "PutItem":
            images = [call.params["Item"]]
        elif call.operation == "BatchWriteItem":
            images = [r["PutRequest"]["Item"] for puts in call.params["RequestItems"].values() for r in puts]
        else:
            continue
        for image in images:
            item = from_dynamo(image)
            written.setdefault(item[contract.TABLE_PARTITION_KEY], []).append(item)
    return written


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def test_the_published_rewrite_changes_only_the_event_state_which_the_index_leaves_out(
    aws, invoke, api_calls
) -> None:
    # GIVEN an event with valid object records and bad records (object and error items)
    invoke("s3_mixed_valid_invalid_other")

    written = _writes(api_calls)
    statuses = {images[0]["status"] for images in written.values()}
    assert statuses == {contract.STATUS_SUCCESS, contract.STATUS_ERROR}
    for images in written.values():
        # THEN each item is written twice, and the second write changes eventState alone
        pending, published = images
        assert _changed(pending, published) == {"eventState"}
        assert not _changed(pending, published) & INDEX_HOLDS
        assert "processedAt" not in INDEX_HOLDS


def test_the_index_serves_what_readers_show_without_the_event_state(aws, invoke) -> None:
    invoke("s3_put_five")

    now = datetime.now(UTC)
    found = query_time_range(aws.dynamodb, TABLE, now - timedelta(days=3650), now + timedelta(days=1))

    assert len(found) == len(aws.items()) == 5
    for entry in found:
        assert "eventState" not in entry
        assert {"status", "bucketName", "objectKey", "size", "eventTime"} <= set(entry)
        assert set(entry) <= INDEX_HOLDS
