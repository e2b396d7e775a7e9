"""The handler end to end on moto: one conditional PutItem per object, and nothing published.

The processor only writes the table; the publisher function announces what its stream shows
(``test_outbox_contract``). So every test here also checks that EventBridge was not called.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from s3flow import contract
from s3flow.functions.processor.dependencies import dependencies
from s3flow.functions.shared.dynamodb_json import from_dynamo
from s3flow.functions.shared.errors import ConfigurationError, RetryableProcessingError
from support.functions import FakeContext, load_event

from ..support import refuse_calls


def record(key: str, version: str, **changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(load_event("s3_put_single")["Records"][0])
    raw["s3"]["object"].update(key=key, versionId=version, **changes)
    return raw


def puts(api_calls: Any) -> list[dict[str, Any]]:
    """The items of every PutItem call, written or refused by its condition."""
    return [from_dynamo(call.params["Item"]) for call in api_calls.of("dynamodb", "PutItem")]


def writes(api_calls: Any) -> list[str]:
    """The processor's DynamoDB calls (the tests' own reads of the table left out)."""
    tests_own = {"Scan", "DescribeTable"}
    return [call.operation for call in api_calls.of("dynamodb") if call.operation not in tests_own]


def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item.get("objectKey", item["requestId"]): item for item in items}


def test_five_records_make_five_items_with_one_put_each_and_no_event(aws, invoke, api_calls) -> None:
    summary = invoke("s3_put_five")

    assert writes(api_calls) == ["PutItem"] * 5
    assert api_calls.of("events") == []
    items = aws.items()
    assert len(items) == 5  # the reference kept 1 of 5
    assert len({item["requestId"] for item in items}) == 5
    assert sorted(item["objectKey"] for item in items) == [f"batch/file-{i}.csv" for i in range(5)]
    assert {item["status"] for item in items} == {contract.STATUS_SUCCESS}
    assert all("eventState" not in item for item in items)
    assert aws.delivered_events() == []
    assert summary == {**summary, "succeeded": 5, "failed": 0, "duplicates": 0}


def test_redelivery_writes_nothing_and_counts_duplicates(aws, invoke, api_calls) -> None:
    invoke("s3_put_five")
    first = {item["requestId"]: item for item in aws.items()}
    api_calls.calls.clear()

    summary = invoke("s3_put_five", FakeContext(aws_request_id="second-delivery"))

    assert summary == {**summary, "duplicates": 5, "succeeded": 0, "errors": 0, "failed": 0}
    assert writes(api_calls) == ["PutItem"] * 5  # each refused by its condition
    assert api_calls.of("events") == []
    assert {item["requestId"]: item for item in aws.items()} == first  # untouched


def test_keys_are_stored_decoded(aws, invoke) -> None:
    invoke("s3_put_single")
    invoke("s3_put_unicode_key")

    keys = sorted(item["objectKey"] for item in aws.items())
    assert keys == ["résumé ✓/2026.txt", "uploads/my file+x.txt"]


def test_object_facts_come_from_the_record_without_s3_calls(aws, invoke, api_calls) -> None:
    invoke("s3_put_single")

    [item] = aws.items()
    assert item["versionId"] == "096fKKXTRTtl3on89fVO.nfljtsv6qko"
    assert item["sequencer"] == "0055AED6DCD90281E5"
    assert item["eTag"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert item["size"] == 1024
    assert item["eventTime"] == item["timestamp"] == "2026-11-24T10:15:30.123Z"
    assert item["timeBucket"].startswith("2026-11-24#")
    assert api_calls.of("s3") == []


def test_timestamps_are_timezone_aware(aws, invoke) -> None:
    before = datetime.now(UTC)
    invoke("s3_put_single")

    [item] = aws.items()
    processed_at = datetime.fromisoformat(item["processedAt"])
    assert processed_at.tzinfo is not None
    assert processed_at >= before.replace(microsecond=before.microsecond // 1000 * 1000)
    assert item["processedAt"].endswith("Z")


def test_many_records_are_one_put_each_and_never_a_batch(aws, invoke, api_calls) -> None:
    summary = invoke({"Records": [record(f"many/{i}.txt", f"v{i}") for i in range(30)]})

    assert summary["succeeded"] == 30
    assert writes(api_calls) == ["PutItem"] * 30
    assert sorted(item["objectKey"] for item in puts(api_calls)) == sorted(f"many/{i}.txt" for i in range(30))
    assert api_calls.of("events") == []
    assert len(aws.items()) == 30


def test_an_object_whose_event_would_be_too_big_becomes_an_error_item(aws, invoke, api_calls) -> None:
    # The publisher could never send its event, so the processor records an error instead.
    huge = record("huge/" + "h" * 300_000, "v-huge")
    small = record("small.txt", "v-small")

    summary = invoke({"Records": [huge, small]})

    assert summary == {**summary, "succeeded": 1, "errors": 1, "failed": 0}
    assert writes(api_calls) == ["PutItem"] * 2
    items = aws.items()
    errors = [item for item in items if item["status"] == contract.STATUS_ERROR]
    assert [item["objectKey"] for item in items if item["status"] == contract.STATUS_SUCCESS] == ["small.txt"]
    assert len(errors) == 1 and errors[0]["requestId"].startswith("error#")
    assert "limit" in errors[0]["errorMessage"]
    assert json.loads(errors[0]["recordExcerpt"])["versionId"] == "v-huge"
    assert api_calls.of("events") == []


def test_test_event_makes_no_item_no_event_no_error(aws, invoke, api_calls) -> None:
    summary = invoke("s3_test_event")

    assert summary["ignored"] == 1
    assert writes(api_calls) == []
    assert aws.items() == []
    assert api_calls.of("events") == []


def test_bad_record_becomes_one_error_item_while_siblings_succeed(aws, invoke, api_calls) -> None:
    summary = invoke("s3_mixed_valid_invalid_other")

    assert summary == {**summary, "records": 4, "succeeded": 2, "errors": 1, "ignored": 1, "failed": 0}
    assert writes(api_calls) == ["PutItem"] * 3
    items = by_key(aws.items())
    assert (
        items["mixed/good-1.txt"]["status"] == items["mixed/good-2.txt"]["status"] == contract.STATUS_SUCCESS
    )
    [error] = [item for item in items.values() if item["status"] == contract.STATUS_ERROR]
    assert error["requestId"].startswith("error#")
    assert "size" in error["errorMessage"]
    assert error["timestamp"] == "2026-11-24T10:15:30.123Z"
    assert api_calls.of("events") == []


def test_redelivered_bad_record_makes_no_second_error(aws, invoke) -> None:
    invoke("s3_mixed_valid_invalid_other")
    first = aws.items()

    summary = invoke("s3_mixed_valid_invalid_other")

    assert summary == {**summary, "duplicates": 3, "errors": 0, "succeeded": 0}
    assert aws.items() == first


def test_non_object_created_record_is_an_error(aws, invoke) -> None:
    invoke("s3_object_removed")

    [item] = aws.items()
    assert item["status"] == contract.STATUS_ERROR
    assert "ObjectRemoved:Delete" in item["errorMessage"]


def test_throttled_write_fails_only_its_record_and_is_finished_on_retry(
    aws, invoke, api_calls, monkeypatch
) -> None:
    outage = [True]
    refuse_calls(
        monkeypatch,
        dependencies().dynamodb,
        "ProvisionedThroughputExceededException",
        when=lambda params: outage[0] and "file-1.csv" in str(params["Item"]),
    )

    # WHEN one of five writes keeps failing
    with pytest.raises(RetryableProcessingError) as raised:
        invoke("s3_put_five")

    # THEN the handler raises for a retry, and the other four are written
    assert raised.value.summary == {**raised.value.summary, "succeeded": 4, "failed": 1}
    assert sorted(item["objectKey"] for item in aws.items()) == [f"batch/file-{i}.csv" for i in (0, 2, 3, 4)]
    outage[0] = False
    api_calls.calls.clear()

    # WHEN Lambda retries the event
    summary = invoke("s3_put_five")

    # THEN the missing one is written and the four are duplicates
    assert summary == {**summary, "succeeded": 1, "duplicates": 4, "failed": 0}
    assert len(aws.items()) == 5
    assert api_calls.of("events") == []


def test_the_same_record_twice_in_one_event_counts_once(aws, invoke, api_calls) -> None:
    raw = load_event("s3_put_single")["Records"][0]

    summary = invoke({"Records": [raw, copy.deepcopy(raw)]})

    assert summary == {**summary, "succeeded": 1, "duplicates": 1}
    assert writes(api_calls) == ["PutItem"]
    assert len(aws.items()) == 1


def test_unversioned_objects_are_told_apart_by_sequencer_or_etag(aws, invoke) -> None:
    invoke("s3_put_unversioned")

    items = aws.items()
    assert len({item["requestId"] for item in items}) == 2
    assert [item.get("versionId") for item in items] == [None, None]


def test_missing_settings_fail_loudly(aws, invoke, monkeypatch) -> None:
    monkeypatch.delenv(contract.ENV_TABLE_NAME)
    dependencies.cache_clear()

    with pytest.raises(ConfigurationError, match=contract.ENV_TABLE_NAME):
        invoke("s3_put_single")


def test_the_processor_runs_without_an_event_bus_name(aws, invoke, monkeypatch) -> None:
    # Only the publisher function is given the bus.
    monkeypatch.delenv(contract.ENV_EVENT_BUS_NAME)
    dependencies.cache_clear()

    summary = invoke("s3_put_single")

    assert summary["succeeded"] == 1 and len(aws.items()) == 1
