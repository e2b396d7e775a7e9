"""What the pipeline itself holds: each stream mapping's position, and the asynchronous
invocations accepted and not finished.

``positions``: per mapping (its logical id), per shard, the sequence number of the last
record the mapping took or gave up on (None: none yet). A poller started with them reads on
after that record: what it had taken is not delivered again, what it had not is delivered.

``pending``: per invocation, the function's name and the event, oldest first. At the next
start each is queued again as a new asynchronous invocation (a new request id, its retries
counted afresh): the processor's one conditional write makes a second run of an event whose
record was already written write and announce nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# mapping logical id -> shard id -> last sequence number settled (None: none yet)
Positions = dict[str, dict[str, "int | None"]]


@dataclass(frozen=True)
class PendingInvocation:
    function: str
    event: Any


def export_positions(positions: Mapping[str, Mapping[str, int | None]]) -> dict[str, Any]:
    return {mapping: dict(shards) for mapping, shards in positions.items()}


def import_positions(saved: Mapping[str, Any]) -> Positions:
    return {
        str(mapping): {str(shard): (None if last is None else int(last)) for shard, last in shards.items()}
        for mapping, shards in saved.items()
    }


def export_pending(pending: Iterable[PendingInvocation]) -> list[dict[str, Any]]:
    return [{"function": invocation.function, "event": invocation.event} for invocation in pending]


def import_pending(saved: Iterable[Mapping[str, Any]]) -> list[PendingInvocation]:
    return [PendingInvocation(str(entry["function"]), entry["event"]) for entry in saved]
