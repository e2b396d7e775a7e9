"""EventBridge entries for items, their size as AWS computes it, and request chunking; no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from s3flow import contract
from s3flow.functions.shared.dynamodb_json import to_json

# PutEvents limits (AWS enforces them, moto does not): entries per call, bytes per request.
MAX_ENTRIES_PER_CALL = 10
MAX_REQUEST_BYTES = 256 * 1024
# Item attributes that are storage details, not part of the published event.
_NOT_IN_DETAIL = {contract.TIME_INDEX_PARTITION_KEY}


def detail_type(item: dict[str, Any]) -> str:
    return (
        contract.DETAIL_TYPE_ERROR
        if item.get("status") == contract.STATUS_ERROR
        else contract.DETAIL_TYPE_SUCCESS
    )


def entry_for(item: dict[str, Any], *, event_bus_name: str) -> dict[str, Any]:
    """The PutEvents entry announcing one item; ``TraceHeader`` is added at publish time."""
    detail = {name: value for name, value in item.items() if name not in _NOT_IN_DETAIL}
    return {
        "Source": contract.EVENT_SOURCE,
        "DetailType": detail_type(item),
        # Numbers as stored: a step's Decimal("0.1") is 0.1 in the detail, never a float's rounding.
        "Detail": to_json(detail),
        "EventBusName": event_bus_name,
    }


def entry_size(entry: dict[str, Any]) -> int:
    """Size of a PutEventsRequestEntry as EventBridge counts it.

    Per "Calculating Amazon EventBridge PutEvents event entry size": 14 bytes for Time if
    set, plus the UTF-8 bytes of Source, DetailType, Detail and each Resources entry.
    EventBusName and TraceHeader do not count.
    """
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        if entry.get(name) is not None:
            size += len(entry[name].encode("utf-8"))
    size += sum(
        len(resource.encode("utf-8")) for resource in entry.get("Resources") or () if resource is not None
    )
    return size


def event_size(item: dict[str, Any]) -> int:
    """Size of the entry announcing ``item``, whatever bus it goes to (the bus name is not counted)."""
    return entry_size(entry_for(item, event_bus_name=""))


def fits(entry: dict[str, Any], max_bytes: int = MAX_REQUEST_BYTES) -> bool:
    return entry_size(entry) <= max_bytes


def chunk_entries(
    entries: Sequence[dict[str, Any]],
    *,
    max_entries: int = MAX_ENTRIES_PER_CALL,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> list[list[int]]:
    """Indexes of ``entries`` grouped into requests within both limits, in order.

    Raises ``ValueError`` for an entry that alone exceeds ``max_bytes``: callers turn
    such objects into errors before publishing.
    """
    chunks: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for index, entry in enumerate(entries):
        size = entry_size(entry)
        if size > max_bytes:
            raise ValueError(f"entry {index} is {size} bytes, over the {max_bytes}-byte request limit")
        if current and (len(current) == max_entries or current_bytes + size > max_bytes):
            chunks.append(current)
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
    if current:
        chunks.append(current)
    return chunks
