"""Stream positions: a poller started with an earlier poller's positions delivers the records
after them and none before; the pipeline's pending invocations round-trip as JSON."""

from __future__ import annotations

import threading
import time
from typing import Any

from s3flow.local.deployment import StreamMapping
from s3flow.local.event_sources.dynamodb_stream import StreamPollers, StreamRecord
from s3flow.local.lambda_.sandbox import Outcome
from s3flow.local.state.positions import (
    PendingInvocation,
    export_pending,
    export_positions,
    import_pending,
    import_positions,
)

from .conftest import through_json

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/records/stream/2026-12-01T00:00:00.000"
SHARD = "shardId-1"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"
MAPPING = StreamMapping("Mapping", "uuid", FUNCTION, ARN, "TRIM_HORIZON")


class ListReader:
    """One shard holding records 1..n (a StreamReader)."""

    def __init__(self, count: int) -> None:
        now = time.time()
        self.records = [
            StreamRecord(n, now, {"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(n)}})
            for n in range(1, count + 1)
        ]

    def shards(self, stream_arn: str) -> list[str]:
        return [SHARD]

    def last(self, stream_arn: str, shard_id: str) -> int | None:
        return self.records[-1].sequence if self.records else None

    def read(self, stream_arn: str, shard_id: str, after: int | None, limit: int) -> list[StreamRecord]:
        return [record for record in self.records if after is None or record.sequence > after][:limit]


class Invocations:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.done = threading.Event()

    def __call__(self, function: str, event: Any) -> Outcome:
        self.batches.append([record["dynamodb"]["SequenceNumber"] for record in event["Records"]])
        self.done.set()
        return Outcome(ok=True, payload=None, started=0.0, ended=0.0)


def _pollers(invoke: Invocations, reader: ListReader) -> StreamPollers:
    return StreamPollers.for_mappings(
        [MAPPING], invoke=invoke, reader=reader, send_to_queue=lambda arn, message: None, poll_interval=0.01
    )


def test_a_poller_resumes_after_the_saved_position_and_reports_where_it_is():
    invoke, reader = Invocations(), ListReader(5)
    pollers = _pollers(invoke, reader)
    saved = import_positions(through_json(export_positions({"Mapping": {SHARD: 3}})))

    pollers.start(saved)
    try:
        assert invoke.done.wait(10)
        deadline = time.monotonic() + 10
        while not pollers.idle() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        pollers.stop()

    assert invoke.batches == [["4", "5"]]  # 1 to 3 were taken before the restart
    assert pollers.positions() == {"Mapping": {SHARD: 5}}


def test_without_a_saved_position_trim_horizon_starts_at_the_oldest_record():
    invoke, reader = Invocations(), ListReader(2)
    pollers = _pollers(invoke, reader)

    pollers.start({"OtherMapping": {SHARD: 1}})
    try:
        assert invoke.done.wait(10)
    finally:
        pollers.stop()

    assert invoke.batches[0] == ["1", "2"]


def test_pending_invocations_round_trip():
    pending = [PendingInvocation("processor", {"Records": [{"s3": {"object": {"key": "a.txt"}}}]})]

    assert import_pending(through_json(export_pending(pending))) == pending
