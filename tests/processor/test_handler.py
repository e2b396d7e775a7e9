"""The handler end to end on moto: one item and one event per object, exactly once."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from processor_support import load_event

from s3flow import contract
from s3flow.processor.dependencies import dependencies
from s3flow.processor.exceptions import ConfigurationError, RetryableProcessingError


def record(key: str, version: str, **changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(load_event("s3_put_single")["Records"][0])
    raw["s3"]["object"].update(key=key, versionId=version, **changes)
    return raw


def fail_put_events(monkeypatch: pytest.MonkeyPatch, should_fail: Any) -> list[int]:
    """PutEvents fails the entries ``should_fail(detail, attempt)`` picks; the others really go out."""
    client = dependencies().events
    real = client.put_events
    attempts = [0]

    def flaky(Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        attempts[0] += 1
        failing = [should_fail(entry["Detail"], attempts[0]) for entry in Entries]
        sent = [entry for entry, fail in zip(Entries, failing, strict=True) if not fail]
        results = iter(real(Entries=sent)["Entries"] if sent else [])
        merged = [{"ErrorCode": "InternalFailure", "ErrorMessage": "boom"} if fail else next(results)
                  for fail in failing]  # fmt: skip
        return {"FailedEntryCount": sum(failing), "Entries": merged}

    monkeypatch.setattr(client, "put_events", flaky)
    return attempts


def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item.get("objectKey", item["requestId"]): item for item in items}


def test_five_records_make_five_items_and_five_events(aws, invoke) -> None:
    summary = invoke("s3_put_five")

    items = aws.items()
    events = aws.delivered_events()
    assert len(items) == 5  # the reference kept 1 of 5
    assert len({item["requestId"] for item in items}) == 5
    assert sorted(item["objectKey"] for item in items) == [f"batch/file-{i}.csv" for i in range(5)]
    assert {item["eventState"] for item in items} == {"PUBLISHED"}
    assert sorted(event["detail"]["objectKey"] for event in events) == [
        f"batch/file-{i}.csv" for i in range(5)
    ]
    assert {event["detail-type"] for event in events} == {contract.DETAIL_TYPE_SUCCESS}
    assert {event["source"] for event in events} == {contract.EVENT_SOURCE}
    assert {event["detail"]["status"] for event in events} == {contract.STATUS_SUCCESS}
    assert summary["succeeded"] == 5 and summary["failed"] == 0


def test_redelivery_makes_no_second_item_and_no_second_event(aws, invoke, api_calls) -> None:
    invoke("s3_put_five")
    first_events = aws.delivered_events()

    summary = invoke("s3_put_five")

    assert len(aws.items()) == 5
    assert len(first_events) == 5
    assert aws.delivered_events() == []
    assert summary["duplicates"] == 5 and summary["succeeded"] == 0
    assert len(api_calls.published_entries()) == 5


def test_item_written_but_not_published_is_published_on_redelivery_exactly_once(
    aws, invoke, monkeypatch
) -> None:
    # GIVEN an attempt that wrote the item but could not publish its event
    outage = [True]
    fail_put_events(monkeypatch, lambda detail, attempt: outage[0])
    with pytest.raises(RetryableProcessingError) as raised:
        invoke("s3_put_single")
    assert raised.value.summary["failed"] == 1 and raised.value.summary["succeeded"] == 0
    assert [item["eventState"] for item in aws.items()] == ["PENDING"]
    assert aws.delivered_events() == []
    outage[0] = False

    # WHEN Lambda redelivers the event
    summary = invoke("s3_put_single")

    # THEN the missing event goes out once and the item is marked PUBLISHED
    assert summary["resumed"] == 1 and summary["succeeded"] == 1
    assert len(aws.delivered_events()) == 1
    assert [item["eventState"] for item in aws.items()] == ["PUBLISHED"]
    assert invoke("s3_put_single")["duplicates"] == 1
    assert aws.delivered_events() == []


def test_keys_are_stored_and_published_decoded(aws, invoke) -> None:
    invoke("s3_put_single")
    invoke("s3_put_unicode_key")

    keys = sorted(item["objectKey"] for item in aws.items())
    assert keys == ["résumé ✓/2026.txt", "uploads/my file+x.txt"]
    assert sorted(event["detail"]["objectKey"] for event in aws.delivered_events()) == keys


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


def test_failed_entries_are_retried_alone(aws, invoke, api_calls, monkeypatch) -> None:
    fail_put_events(monkeypatch, lambda detail, attempt: "file-2.csv" in detail and attempt == 1)

    summary = invoke("s3_put_five")

    assert summary["succeeded"] == 5
    calls = api_calls.of("events", "PutEvents")
    assert [len(call.params["Entries"]) for call in calls] == [4, 1]
    assert sorted(event["detail"]["objectKey"] for event in aws.delivered_events()) == [
        f"batch/file-{i}.csv" for i in range(5)
    ]


def test_persistent_publish_failure_raises_and_never_claims_success(aws, invoke, monkeypatch, sleeps) -> None:
    fail_put_events(monkeypatch, lambda detail, attempt: "file-3.csv" in detail)

    with pytest.raises(RetryableProcessingError) as raised:
        invoke("s3_put_five")

    assert raised.value.summary["succeeded"] == 4 and raised.value.summary["failed"] == 1
    states = {item["objectKey"]: item["eventState"] for item in aws.items()}
    assert states.pop("batch/file-3.csv") == "PENDING"
    assert set(states.values()) == {"PUBLISHED"}
    assert "batch/file-3.csv" not in [event["detail"]["objectKey"] for event in aws.delivered_events()]
    assert len(sleeps.seconds) == 3  # bounded retries with backoff, then give up


def test_publishing_respects_the_256_kb_request_limit(aws, invoke, api_calls) -> None:
    records = [record(f"big/{i}-" + "k" * 100_000, f"v{i}") for i in range(5)]

    summary = invoke({"Records": records})

    from s3flow.processor.events import entry_size

    calls = api_calls.of("events", "PutEvents")
    assert len(calls) >= 3
    assert all(sum(entry_size(e) for e in call.params["Entries"]) <= 256 * 1024 for call in calls)
    assert summary["succeeded"] == 5
    assert len(aws.delivered_events()) == 5


def test_many_records_respect_the_10_entry_and_25_item_limits(aws, invoke, api_calls) -> None:
    summary = invoke({"Records": [record(f"many/{i}.txt", f"v{i}") for i in range(30)]})

    assert summary["succeeded"] == 30
    assert [len(c.params["Entries"]) for c in api_calls.of("events", "PutEvents")] == [10, 10, 10]
    batch_sizes = [len(c.params["RequestItems"][next(iter(c.params["RequestItems"]))])
                   for c in api_calls.of("dynamodb", "BatchWriteItem")]  # fmt: skip
    assert batch_sizes == [25, 5]
    assert {item["eventState"] for item in aws.items()} == {"PUBLISHED"}


def test_an_object_whose_event_is_too_big_becomes_an_error_not_a_failed_batch(aws, invoke) -> None:
    huge = record("huge/" + "h" * 300_000, "v-huge")
    small = record("small.txt", "v-small")

    summary = invoke({"Records": [huge, small]})

    assert summary == {**summary, "succeeded": 1, "errors": 1, "failed": 0}
    items = aws.items()
    errors = [item for item in items if item["status"] == contract.STATUS_ERROR]
    assert [item["objectKey"] for item in items if item["status"] == contract.STATUS_SUCCESS] == ["small.txt"]
    assert len(errors) == 1 and errors[0]["requestId"].startswith("error#")
    assert "limit" in errors[0]["errorMessage"]
    assert json.loads(errors[0]["recordExcerpt"])["versionId"] == "v-huge"
    types = sorted(event["detail-type"] for event in aws.delivered_events())
    assert types == sorted([contract.DETAIL_TYPE_SUCCESS, contract.DETAIL_TYPE_ERROR])


def test_test_event_makes_no_item_no_event_no_error(aws, invoke, api_calls) -> None:
    summary = invoke("s3_test_event")

    assert summary["ignored"] == 1
    assert aws.items() == []
    assert aws.delivered_events() == []
    assert api_calls.of("events") == []


def test_bad_record_becomes_error_item_and_event_while_siblings_succeed(aws, invoke) -> None:
    summary = invoke("s3_mixed_valid_invalid_other")

    assert summary == {**summary, "records": 4, "succeeded": 2, "errors": 1, "ignored": 1, "failed": 0}
    items = by_key(aws.items())
    assert (
        items["mixed/good-1.txt"]["status"] == items["mixed/good-2.txt"]["status"] == contract.STATUS_SUCCESS
    )
    [error] = [item for item in items.values() if item["status"] == contract.STATUS_ERROR]
    assert error["requestId"].startswith("error#")
    assert "size" in error["errorMessage"]
    assert error["timestamp"] == "2026-11-24T10:15:30.123Z"
    events = aws.delivered_events()
    [error_event] = [event for event in events if event["detail-type"] == contract.DETAIL_TYPE_ERROR]
    assert error_event["detail"]["status"] == contract.STATUS_ERROR
    assert error_event["detail"]["requestId"] == error["requestId"]
    assert len(events) == 3


def test_redelivered_bad_record_makes_no_second_error(aws, invoke) -> None:
    invoke("s3_mixed_valid_invalid_other")
    aws.delivered_events()

    summary = invoke("s3_mixed_valid_invalid_other")

    assert summary["duplicates"] == 3
    assert len(aws.items()) == 3
    assert aws.delivered_events() == []


def test_non_object_created_record_is_an_error(aws, invoke) -> None:
    invoke("s3_object_removed")

    [item] = aws.items()
    assert item["status"] == contract.STATUS_ERROR
    assert "ObjectRemoved:Delete" in item["errorMessage"]


def test_throttled_write_fails_only_its_record_and_is_finished_on_retry(aws, invoke, monkeypatch) -> None:
    client = dependencies().dynamodb
    real = client.put_item

    outage = [True]

    def throttled(**kwargs: Any) -> Any:
        if outage[0] and "file-1.csv" in str(kwargs["Item"]):
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}
            raise ClientError(error, "PutItem")
        return real(**kwargs)

    monkeypatch.setattr(client, "put_item", throttled)
    with pytest.raises(RetryableProcessingError):
        invoke("s3_put_five")
    assert len(aws.items()) == 4
    assert len(aws.delivered_events()) == 4
    outage[0] = False

    summary = invoke("s3_put_five")

    assert summary == {**summary, "succeeded": 1, "duplicates": 4}
    assert [event["detail"]["objectKey"] for event in aws.delivered_events()] == ["batch/file-1.csv"]


def test_the_same_record_twice_in_one_event_counts_once(aws, invoke) -> None:
    raw = load_event("s3_put_single")["Records"][0]

    summary = invoke({"Records": [raw, copy.deepcopy(raw)]})

    assert summary == {**summary, "succeeded": 1, "duplicates": 1}
    assert len(aws.items()) == 1
    assert len(aws.delivered_events()) == 1


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


def test_events_that_went_out_are_not_retried_when_marking_them_fails(aws, invoke, monkeypatch) -> None:
    client = dependencies().dynamodb

    def never_processed(RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        return {"UnprocessedItems": RequestItems}

    monkeypatch.setattr(client, "batch_write_item", never_processed)

    summary = invoke("s3_put_five")  # no raise: a Lambda retry would publish the five events again

    assert summary == {**summary, "succeeded": 5, "unmarked": 5, "failed": 0}
    assert len(aws.delivered_events()) == 5
    assert {item["eventState"] for item in aws.items()} == {"PENDING"}
