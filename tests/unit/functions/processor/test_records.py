"""Parsing S3 notification events into typed records: pure, no AWS."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any
from urllib.parse import quote_plus

from hypothesis import given
from hypothesis import strategies as st

from s3flow.functions.processor.records import (
    IgnoredRecord,
    InvalidRecord,
    ObjectRecord,
    error_digest,
    object_id,
    parse_event,
    parse_record,
)
from support.functions import load_event


def test_url_encoded_key_is_decoded_plus_is_space_and_percent_2b_is_plus() -> None:
    [record] = parse_event(load_event("s3_put_single"))

    assert isinstance(record, ObjectRecord)
    assert record.key == "uploads/my file+x.txt"


def test_unicode_key_is_decoded() -> None:
    [record] = parse_event(load_event("s3_put_unicode_key"))

    assert isinstance(record, ObjectRecord)
    assert record.key == "résumé ✓/2026.txt"


def test_record_fields_come_from_the_record() -> None:
    raw = load_event("s3_put_single")["Records"][0]

    record = parse_record(raw)

    assert isinstance(record, ObjectRecord)
    assert record.bucket == raw["s3"]["bucket"]["name"]
    assert record.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"
    assert record.sequencer == "0055AED6DCD90281E5"
    assert record.etag == "d41d8cd98f00b204e9800998ecf8427e"
    assert record.size == 1024
    assert record.event_name == "ObjectCreated:Put"
    assert record.region == "us-east-1"


def test_event_time_is_timezone_aware_utc() -> None:
    [record] = parse_event(load_event("s3_put_single"))

    assert isinstance(record, ObjectRecord)
    assert record.event_time.utcoffset() == timedelta(0)
    assert record.event_time.isoformat() == "2026-11-24T10:15:30.123000+00:00"


def test_s3_test_event_is_ignored_not_invalid() -> None:
    assert parse_event(load_event("s3_test_event")) == [IgnoredRecord(reason="s3:TestEvent")]


def test_records_from_other_sources_are_ignored() -> None:
    parsed = parse_event(load_event("s3_mixed_valid_invalid_other"))

    kinds = [type(record).__name__ for record in parsed]
    assert kinds == ["ObjectRecord", "InvalidRecord", "IgnoredRecord", "ObjectRecord"]
    assert "aws:sqs" in parsed[2].reason


def test_missing_size_is_invalid_with_message_and_excerpt() -> None:
    bad = parse_event(load_event("s3_mixed_valid_invalid_other"))[1]

    assert isinstance(bad, InvalidRecord)
    assert "size" in bad.message
    assert "broken/no-size.txt" in bad.excerpt
    assert bad.event_time is not None and bad.event_time.tzinfo is not None


def test_non_object_created_event_is_invalid() -> None:
    [record] = parse_event(load_event("s3_object_removed"))

    assert isinstance(record, InvalidRecord)
    assert "ObjectRemoved:Delete" in record.message


def test_excerpt_is_bounded() -> None:
    raw = copy.deepcopy(load_event("s3_put_single")["Records"][0])
    raw["s3"]["object"]["size"] = "big"
    raw["padding"] = "x" * 100_000

    record = parse_record(raw)

    assert isinstance(record, InvalidRecord)
    assert len(record.excerpt) <= 2048


def test_event_without_records_is_invalid_not_ignored() -> None:
    [record] = parse_event({"hello": "world"})

    assert isinstance(record, InvalidRecord)


def test_naive_or_garbled_event_time_is_invalid() -> None:
    raw = copy.deepcopy(load_event("s3_put_single")["Records"][0])
    raw["eventTime"] = "2026-11-24T10:15:30"
    assert isinstance(parse_record(raw), InvalidRecord)
    raw["eventTime"] = "yesterday"
    assert isinstance(parse_record(raw), InvalidRecord)


def test_an_event_time_beyond_utcs_calendar_is_invalid_not_a_crash() -> None:
    # Valid ISO-8601, but moving it to UTC leaves the years datetime holds: one bad record,
    # not an exception that would fail its siblings' invocation with it.
    raw = copy.deepcopy(load_event("s3_put_single")["Records"][0])
    for event_time in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        raw["eventTime"] = event_time

        record = parse_record(raw)

        assert isinstance(record, InvalidRecord) and event_time in record.message
        assert record.event_time is None


def test_object_id_prefers_version_then_sequencer_then_etag() -> None:
    with_version = object_id("b", "k", "v1", "seq", "etag")
    assert with_version == object_id("b", "k", "v1", "other-seq", "other-etag")
    assert object_id("b", "k", None, "seq", "etag") == object_id("b", "k", None, "seq", "other")
    assert object_id("b", "k", None, None, "etag") != object_id("b", "k", None, None, "other")
    assert with_version != object_id("b", "k", "v2", "seq", "etag")


def test_object_id_is_unambiguous_across_field_boundaries() -> None:
    assert object_id("a/b", "c", "v", None, None) != object_id("a", "b/c", "v", None, None)
    assert object_id("a", "b", "v", None, None) != object_id("a", "b|v", None, None, None)


def test_error_digest_is_stable_for_the_same_record_regardless_of_key_order() -> None:
    assert error_digest({"a": 1, "b": [1, 2]}) == error_digest({"b": [1, 2], "a": 1})
    assert error_digest({"a": 1}) != error_digest({"a": 2})


@given(st.text(min_size=1, max_size=200))
def test_any_key_survives_s3_url_encoding(key: str) -> None:
    # S3 encodes keys in notifications like quote_plus does (space -> "+", "+" -> "%2B").
    raw = copy.deepcopy(load_event("s3_put_single")["Records"][0])
    raw["s3"]["object"]["key"] = quote_plus(key, safe="/")

    record = parse_record(raw)

    assert isinstance(record, ObjectRecord)
    assert record.key == key


@given(st.text(min_size=1, max_size=50), st.text(min_size=1, max_size=50))
def test_different_keys_give_different_object_ids(first: str, second: str) -> None:
    assert (object_id("bucket", first, "v", None, None) == object_id("bucket", second, "v", None, None)) == (
        first == second
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
s3_like = st.fixed_dictionaries(
    {"eventSource": st.just("aws:s3")},
    optional={"eventName": json_values | st.just("ObjectCreated:Put"), "eventTime": json_values,
              "s3": json_values, "awsRegion": json_values},
)  # fmt: skip


@given(
    st.one_of(json_values, st.fixed_dictionaries({"Records": st.lists(s3_like | json_values, max_size=4)}))
)
def test_parsing_never_raises_and_accounts_for_every_record(event: Any) -> None:
    parsed = parse_event(event)

    expected = (
        len(event["Records"]) if isinstance(event, dict) and isinstance(event.get("Records"), list) else 1
    )
    assert len(parsed) == expected
    assert all(isinstance(record, ObjectRecord | IgnoredRecord | InvalidRecord) for record in parsed)
