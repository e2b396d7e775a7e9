"""Reads the records table's stream in the emulator, as the publisher's event source mapping would."""

from __future__ import annotations

from typing import Any

from s3flow.streams import stream_records

# The mapping's FilterCriteria: only these reach the publisher.
DELIVERED = ("INSERT", "MODIFY")


class StreamReader:
    """Returns the records written since the last read, shaped as Lambda delivers them."""

    def __init__(self, dynamodb: Any, streams: Any, table_name: str) -> None:
        self._streams = streams
        self._arn = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"][-1]
        self._shard = shard["ShardId"]
        self._next = int(shard["SequenceNumberRange"]["StartingSequenceNumber"])

    def new_records(self) -> list[dict[str, Any]]:
        info = {
            "streamArn": self._arn,
            "shardId": self._shard,
            "startSequenceNumber": str(self._next),
            "endSequenceNumber": str(10**30),
        }
        records = stream_records(self._streams, info)
        if records:
            self._next = int(records[-1]["dynamodb"]["SequenceNumber"]) + 1
        return [r for r in records if r.get("eventName") in DELIVERED]
