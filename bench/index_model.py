"""Which item writes also write a secondary index, as DynamoDB bills them.

DynamoDB writes an index entry when an item enters the index, leaves it, or changes one of
the attributes the index holds (its keys, the table's keys and the projected attributes);
a write that changes nothing the index holds costs no index write. Each index write is billed
1 WRU per started KB of the index entry; a change of the index key is a delete plus a put.
The index shape comes from the synthesized template (ours) or the reference design's CDK.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bench import paths
from s3flow import contract

# The reference design's TimestampIndex: partition key `timestamp`, no projection given, so
# CDK's default ALL; its table is keyed on requestId and timestamp.
REFERENCE_INDEX = {
    "keys": ["timestamp"],
    "table_keys": [contract.TABLE_PARTITION_KEY, contract.TABLE_SORT_KEY],
    "projected": None,
}


def index_spec(table_properties: dict[str, Any], index_name: str) -> dict[str, Any]:
    """The index as the child counts it: its keys, the table's keys, projected attributes (None: ALL)."""
    (index,) = (i for i in table_properties.get("GlobalSecondaryIndexes", []) if i["IndexName"] == index_name)
    projection = index.get("Projection", {})
    kind = projection.get("ProjectionType", "ALL")
    return {
        "keys": [key["AttributeName"] for key in index["KeySchema"]],
        "table_keys": [key["AttributeName"] for key in table_properties["KeySchema"]],
        "projected": None if kind == "ALL" else list(projection.get("NonKeyAttributes", [])),
    }


@cache
def our_index() -> dict[str, Any]:
    """Our time index exactly as the synthesized template defines it."""
    template = json.loads(paths.processor_template().read_text())
    (table,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table")
    return index_spec(table["Properties"], contract.TIME_INDEX_NAME)


@dataclass
class IndexCounter:
    """Remembers the index entry of every item this process wrote; says what each new write costs."""

    keys: list[str]
    table_keys: list[str]
    projected: list[str] | None
    _entries: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> IndexCounter:
        return cls(list(spec["keys"]), list(spec["table_keys"]), spec["projected"])

    def entry(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """The index entry of an item (wire-format attributes), None when it is not in the index."""
        if not all(key in item for key in self.keys):
            return None  # sparse: an item without the index keys is not in it
        if self.projected is None:
            return dict(item)
        held = {*self.keys, *self.table_keys, *self.projected}
        return {name: value for name, value in item.items() if name in held}

    def written(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """The index entries this successful write of ``item`` writes (deleted entries included)."""
        table_key = json.dumps([item.get(key) for key in self.table_keys], sort_keys=True)
        old, new = self._entries.get(table_key), self.entry(item)
        self._entries[table_key] = new
        if old == new:
            return []
        if old is None or new is None:
            return [old or new]  # type: ignore[list-item]
        if any(old.get(key) != new.get(key) for key in self.keys):
            return [old, new]  # moved to another index key: a delete and a put
        return [new]
