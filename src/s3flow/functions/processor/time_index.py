"""The time index: where an item goes on it; pure.

Index partition key ``timeBucket`` = ``YYYY-MM-DD#<shard>``; sort key ``timestamp``.
Writes for one day spread over ``shards`` partitions (shard from the object id, so
one object always lands in the same place); ``s3flow.cli.time_range`` reads a range back
with one Query per (day, shard).
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(when: datetime) -> str:
    """UTC ISO-8601 with milliseconds and ``Z``: sorts lexicographically in time order."""
    if when.tzinfo is None:
        raise ValueError("timestamps must be time-zone aware")
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def shard_of(digest_hex: str, shards: int) -> int:
    return int(digest_hex, 16) % shards


def time_bucket(digest_hex: str, when: datetime, shards: int) -> str:
    """Index partition for an item: its UTC day and the shard its id hashes to."""
    if when.tzinfo is None:
        raise ValueError("timestamps must be time-zone aware")
    day = when.astimezone(UTC).date()
    return f"{day.isoformat()}#{shard_of(digest_hex, shards)}"
