"""DynamoDB: every table's items and its stream's records, with their sequence numbers.

Items are put back with the table's stream detached, so restoring writes no stream record;
then the stream's records are put back as they were (same sequence numbers, event ids,
images, creation times), so a stream mapping's saved position (``positions``) still points
at the same record. moto trims no stream record, and neither does the state: records older
than DynamoDB Streams' 24 hours are kept locally
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html).
Not kept: backups, TTL settings' effect (moto deletes nothing on TTL either).
"""

from __future__ import annotations

import copy
from typing import Any

from s3flow.local.state.times import epoch, naive_utc


def _backend(account: str, region: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account][region]


def _record(raw: Any) -> dict[str, Any]:
    record = copy.deepcopy(raw.to_json())
    record["dynamodb"]["ApproximateCreationDateTime"] = epoch(
        record["dynamodb"]["ApproximateCreationDateTime"]
    )
    return dict(record)


def export(account: str, region: str) -> dict[str, Any]:
    """{table: {"items": [...], "stream": {...} or None}} of every table in the emulator."""
    tables: dict[str, Any] = {}
    for name, table in list(_backend(account, region).tables.items()):
        shard = table.stream_shard
        stream = None
        if shard is not None:
            stream = {
                "shard_id": shard.id,
                "starting_sequence_number": shard.starting_sequence_number,
                "records": [_record(raw) for raw in list(shard.items)],
            }
        tables[name] = {
            "items": [copy.deepcopy(item.to_json()["Attributes"]) for item in table.all_items()],
            "stream": stream,
        }
    return tables


def restore(account: str, region: str, saved: dict[str, Any]) -> list[str]:
    """Puts the saved items and stream records back into the tables that exist; what could
    not be, in words."""
    from moto.dynamodb.models.table import StreamRecord

    backend = _backend(account, region)
    missing: list[str] = []
    for name, content in saved.items():
        table = backend.tables.get(name)
        if table is None:
            if content["items"]:
                missing.append(f"table {name} (items: {len(content['items'])})")
            continue
        shard, table.stream_shard = table.stream_shard, None
        try:
            for attributes in content["items"]:
                table.put_item(attributes, overwrite=True)
        finally:
            table.stream_shard = shard
        stream = content.get("stream")
        if not stream or not stream["records"]:
            continue
        if shard is None:
            missing.append(f"the stream of table {name} (records: {len(stream['records'])}): it has none now")
            continue
        records = []
        for saved_record in stream["records"]:
            body = copy.deepcopy(saved_record)
            body["dynamodb"]["ApproximateCreationDateTime"] = naive_utc(
                body["dynamodb"]["ApproximateCreationDateTime"]
            )
            record: Any = StreamRecord.__new__(StreamRecord)  # moto builds one from items; this one is whole
            record.record = body
            records.append(record)
        shard.id = stream["shard_id"]
        shard.starting_sequence_number = int(stream["starting_sequence_number"])
        shard.items = records
    return missing
