"""``s3flow backfill``'s batches, without AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from s3flow.cli.backfill import MAX_PAYLOAD_BYTES, ObjectVersion, batches


def test_batches_respect_the_async_payload_limit():
    version = ObjectVersion("k", "v", 1, "e", datetime(2026, 1, 1, tzinfo=UTC))
    big = {"pad": "x" * 60_000}
    groups = list(batches([(version, big)] * 7))

    assert [len(group) for group in groups] == [3, 3, 1]
    for group in groups:
        assert len(json.dumps({"Records": [record for _, record in group]})) <= MAX_PAYLOAD_BYTES
    assert [len(g) for g in batches([(version, {"r": 1})] * 30)] == [25, 5]
