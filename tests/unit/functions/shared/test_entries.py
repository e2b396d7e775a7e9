"""Event entries, their size as EventBridge counts it, and chunking within AWS limits."""

from __future__ import annotations

import json

import pytest

from s3flow import contract
from s3flow.functions.shared.entries import (
    MAX_ENTRIES_PER_CALL,
    MAX_REQUEST_BYTES,
    chunk_entries,
    entry_for,
    entry_size,
)


def entry(detail_bytes: int) -> dict[str, str]:
    return {"Source": "s", "DetailType": "d", "Detail": "x" * detail_bytes, "EventBusName": "bus"}


def test_entry_size_follows_the_aws_formula() -> None:
    # 14 for Time, UTF-8 bytes of Source, DetailType, Detail and each resource; not bus or trace header.
    entry = {
        "Time": "2026-11-24T10:15:30Z",
        "Source": contract.EVENT_SOURCE,
        "DetailType": "é",
        "Detail": '{"k":"✓"}',
        "Resources": ["arn:aws:s3:::b/k"],
        "EventBusName": "a-very-long-bus-name-that-does-not-count",
        "TraceHeader": "Root=1-00000000-000000000000000000000000",
    }

    assert entry_size(entry) == 14 + len(contract.EVENT_SOURCE) + 2 + 11 + len("arn:aws:s3:::b/k")


def test_success_and_error_entries() -> None:
    success = entry_for({"requestId": "abc", "status": "SUCCESS", "timeBucket": "x"}, event_bus_name="bus")
    error = entry_for({"requestId": "error#abc", "status": "ERROR"}, event_bus_name="bus")

    assert success["Source"] == contract.EVENT_SOURCE
    assert success["DetailType"] == contract.DETAIL_TYPE_SUCCESS
    assert error["DetailType"] == contract.DETAIL_TYPE_ERROR
    assert json.loads(success["Detail"]) == {"requestId": "abc", "status": "SUCCESS"}
    assert success["EventBusName"] == "bus"


def test_at_most_ten_entries_per_request() -> None:
    chunks = chunk_entries([entry(10) for _ in range(23)])

    assert [len(chunk) for chunk in chunks] == [10, 10, 3]
    assert [i for chunk in chunks for i in chunk] == list(range(23))


def test_at_most_256_kb_per_request() -> None:
    size = 100 * 1024  # three of these exceed 256 KB, two do not
    entries = [entry(size) for _ in range(5)]

    chunks = chunk_entries(entries)

    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    for chunk in chunks:
        assert sum(entry_size(entries[i]) for i in chunk) <= MAX_REQUEST_BYTES
        assert len(chunk) <= MAX_ENTRIES_PER_CALL


def test_an_entry_of_exactly_the_limit_goes_alone() -> None:
    exact = entry(MAX_REQUEST_BYTES - 2)
    assert entry_size(exact) == MAX_REQUEST_BYTES

    assert chunk_entries([entry(1), exact, entry(1)]) == [[0], [1], [2]]


def test_a_single_entry_over_the_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        chunk_entries([entry(MAX_REQUEST_BYTES)])
