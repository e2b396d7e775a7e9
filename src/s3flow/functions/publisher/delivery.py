"""EventBridge adapter: PutEvents within AWS's limits, retrying only the failed entries.

Takes an injected client. Never raises for a failed publish: it reports which entries
were published and which were not, so the caller never claims success for an event
EventBridge did not accept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from s3flow.functions.shared.aws_api import ApiCallError
from s3flow.functions.shared.backoff import Backoff
from s3flow.functions.shared.entries import MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES, chunk_entries

if TYPE_CHECKING:
    from s3flow.functions.shared.aws_api import JsonApiClient


@dataclass
class PublishReport:
    published: list[int] = field(default_factory=list)  # indexes into the entries given
    failed: dict[int, str] = field(default_factory=dict)  # index -> last error code
    calls: int = 0


def publish(
    client: JsonApiClient,
    entries: Sequence[dict[str, Any]],
    *,
    backoff: Backoff | None = None,
    max_entries: int = MAX_ENTRIES_PER_CALL,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> PublishReport:
    backoff = backoff or Backoff()
    report = PublishReport()
    outgoing = [dict(entry) for entry in entries]
    pending = list(range(len(outgoing)))
    for attempt in range(backoff.attempts):
        failed: dict[int, str] = {}
        batch = [outgoing[index] for index in pending]
        for chunk in chunk_entries(batch, max_entries=max_entries, max_bytes=max_bytes):
            indexes = [pending[position] for position in chunk]
            report.calls += 1
            failed.update(_put(client, [outgoing[index] for index in indexes], indexes, report))
        pending = sorted(failed)
        report.failed = failed
        if not pending:
            break
        if attempt + 1 < backoff.attempts:
            backoff.pause(attempt)
    report.published.sort()
    return report


def _put(
    client: JsonApiClient, entries: list[dict[str, Any]], indexes: list[int], report: PublishReport
) -> dict[int, str]:
    try:
        response = client.call("PutEvents", {"Entries": entries})
    except ApiCallError as error:
        return dict.fromkeys(indexes, error.code)
    failed = {}
    results = response.get("Entries", [])
    for position, index in enumerate(indexes):
        result = results[position] if position < len(results) else {}
        if result.get("EventId") and not result.get("ErrorCode"):
            report.published.append(index)
        else:
            failed[index] = result.get("ErrorCode") or "MissingResult"
    return failed
