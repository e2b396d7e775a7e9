"""The time index: bucket assignment and range planning, pure. The query runs on moto in
tests/functional."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from s3flow import contract
from s3flow.cli.time_range import plan_range_queries
from s3flow.functions.processor.time_index import format_timestamp, shard_of, time_bucket

T0 = datetime(2026, 11, 24, 10, 15, 30, 123000, tzinfo=UTC)


def test_timestamp_is_utc_iso_with_milliseconds_and_z() -> None:
    paris = timezone(timedelta(hours=1))
    assert (
        format_timestamp(datetime(2026, 11, 24, 11, 15, 30, 123456, tzinfo=paris))
        == "2026-11-24T10:15:30.123Z"
    )


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        format_timestamp(datetime(2026, 11, 24))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError):
        plan_range_queries(datetime(2026, 11, 24), T0, 4)  # noqa: DTZ001


def test_time_bucket_is_utc_day_and_stable_shard() -> None:
    digest = "ff" * 32
    late_evening_new_york = datetime(2026, 11, 23, 22, 0, tzinfo=timezone(timedelta(hours=-5)))

    assert time_bucket(digest, late_evening_new_york, 4) == f"2026-11-24#{int(digest, 16) % 4}"


def test_shards_spread_ids() -> None:
    import hashlib

    shards = {shard_of(hashlib.sha256(str(i).encode()).hexdigest(), 4) for i in range(100)}
    assert shards == {0, 1, 2, 3}


def test_one_query_per_day_and_shard_bounded_to_the_range() -> None:
    start = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
    end = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)

    specs = plan_range_queries(start, end, 3)

    assert [s.time_bucket for s in specs] == [f"2026-11-{d}#{s}" for d in (24, 25, 26) for s in range(3)]
    assert (specs[0].lower, specs[0].upper) == ("2026-11-24T22:00:00.000Z", "2026-11-24T23:59:59.999Z")
    assert (specs[3].lower, specs[3].upper) == ("2026-11-25T00:00:00.000Z", "2026-11-25T23:59:59.999Z")
    assert (specs[-1].lower, specs[-1].upper) == ("2026-11-26T00:00:00.000Z", "2026-11-26T01:30:00.000Z")
    assert all(s.index_name == contract.TIME_INDEX_NAME for s in specs)


def test_empty_range_plans_nothing() -> None:
    assert plan_range_queries(T0, T0 - timedelta(seconds=1), 4) == []
