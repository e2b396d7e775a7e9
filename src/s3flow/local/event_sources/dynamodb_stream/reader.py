"""Reading a DynamoDB stream's shards and records, shaped as Lambda delivers them.

moto keeps every stream record (it trims nothing) and numbers a shard's records with
consecutive integers; ``MotoStreamReader`` reads moto's in-process model directly, as the
S3 hop does: moto's ``GetRecords`` API would keep a new shard iterator in memory on every
poll. A read is by sequence number (the records after a checkpoint), so there is no shard
iterator to expire.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class StreamRecord:
    """One stream record as Lambda delivers it, with what the poller needs to order and age it."""

    sequence: int
    arrived: float  # epoch seconds, exact (the record's ApproximateCreationDateTime is rounded)
    body: dict[str, Any]

    @property
    def sequence_number(self) -> str:
        return str(self.body["dynamodb"]["SequenceNumber"])


class StreamReader(Protocol):
    def shards(self, stream_arn: str) -> list[str]: ...

    def last(self, stream_arn: str, shard_id: str) -> int | None:
        """The sequence number of the shard's newest record, None while it has none."""

    def read(self, stream_arn: str, shard_id: str, after: int | None, limit: int) -> list[StreamRecord]:
        """Up to ``limit`` records following sequence number ``after`` (None: the oldest)."""


def _epoch(moment: Any) -> float:
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return float(moment)


def shape(raw: Mapping[str, Any], *, stream_arn: str, region: str) -> StreamRecord:
    """moto's stream record as Lambda delivers it (a copy: moto's stays untouched)."""
    arrived = _epoch(raw["dynamodb"]["ApproximateCreationDateTime"])
    body = json.loads(json.dumps(raw, default=str))
    body["awsRegion"] = region  # moto writes us-east-1 whatever the table's region
    body["dynamodb"]["ApproximateCreationDateTime"] = int(arrived)
    body["eventSourceARN"] = stream_arn
    return StreamRecord(int(body["dynamodb"]["SequenceNumber"]), arrived, body)


class MotoStreamReader:
    """Reads the streams of this process's moto (the emulator behind the local server)."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region

    def _shard(self, stream_arn: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        table_name = stream_arn.split(":", 5)[5].split("/")[1]
        table = dynamodb_backends[self.account][self.region].get_table(table_name)
        if table.stream_shard is None:
            raise LookupError(f"table {table_name} has no stream")
        return table.stream_shard

    def shards(self, stream_arn: str) -> list[str]:
        return [self._shard(stream_arn).id]

    def last(self, stream_arn: str, shard_id: str) -> int | None:
        shard = self._shard(stream_arn)
        count = len(shard.items)
        return shard.starting_sequence_number + count - 1 if count else None

    def read(self, stream_arn: str, shard_id: str, after: int | None, limit: int) -> list[StreamRecord]:
        shard = self._shard(stream_arn)
        start = shard.starting_sequence_number if after is None else after + 1
        return [
            shape(raw, stream_arn=stream_arn, region=self.region)
            for raw in shard.get(start, limit)  # moto's StreamShard.get: from a sequence number
        ]
