"""Process parsed records: plan items, write them idempotently, publish, mark published.

Per invocation:
1. plan one item per object (or per bad record); an object whose event would exceed
   EventBridge's entry size becomes an error before anything is written;
2. per item a conditional PutItem (eventState PENDING). Key already PUBLISHED: a
   duplicate delivery, skip it. Key PENDING: an earlier attempt wrote it but did not
   publish, so publish it now;
3. PutEvents for everything to publish (chunked, failed entries retried);
4. rewrite the published items as PUBLISHED (BatchWriteItem).

One record's failure never stops the others. Transient failures (a write or publish
still failing after retries) are counted; the handler then raises so Lambda redelivers,
and the finished records are skipped as duplicates the second time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from s3flow import contract
from s3flow.processor.events import MAX_REQUEST_BYTES, entry_for, entry_size
from s3flow.processor.items import Invocation, error_item, item_key, object_item
from s3flow.processor.publisher import publish
from s3flow.processor.records import (
    IgnoredRecord,
    InvalidRecord,
    ObjectRecord,
    ParsedRecord,
    canonical_json,
    error_digest,
)
from s3flow.processor.store import PutOutcome, mark_published, put_pending
from s3flow.processor.tracing import Trace

if TYPE_CHECKING:
    from s3flow.processor.dependencies import Dependencies

logger = logging.getLogger(__name__)
KEY_IN_MESSAGE_LIMIT = 200
OBJECT_METADATA = ("bucketName", "objectKey", "versionId", "size", "eventName", "status")


@dataclass
class Summary:
    records: int = 0
    ignored: int = 0
    succeeded: int = 0  # SUCCESS events published by this invocation
    errors: int = 0  # ERROR events published by this invocation (bad records)
    resumed: int = 0  # of those, items an earlier attempt wrote but did not publish
    duplicates: int = 0  # already fully processed: nothing done
    failed: int = 0  # transient failures: not published, the handler raises
    unmarked: int = 0  # published, but still PENDING in the table

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def oversized(record: ObjectRecord, size: int, limit: int) -> InvalidRecord:
    key = record.key if len(record.key) <= KEY_IN_MESSAGE_LIMIT else record.key[:KEY_IN_MESSAGE_LIMIT] + "..."
    identity = {
        "bucket": record.bucket,
        "key": key,
        "versionId": record.version_id,
        "objectId": record.object_id,
    }
    return InvalidRecord(
        message=f"event for s3://{record.bucket}/{key} is {size} bytes, over the {limit}-byte entry limit",
        excerpt=canonical_json(identity),
        error_id=error_digest(["entry-too-large", record.object_id]),
        event_time=record.event_time,
        event_name=record.event_name,
    )


def plan_items(
    records: Sequence[ParsedRecord],
    invocation: Invocation,
    *,
    shards: int,
    event_bus_name: str,
    processed_at: datetime,
    max_entry_bytes: int = MAX_REQUEST_BYTES,
    summary: Summary,
) -> list[dict[str, Any]]:
    """The items to write, at most one per key (a record repeated in one event counts once)."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        if isinstance(record, IgnoredRecord):
            summary.ignored += 1
            logger.info("ignored record: %s", record.reason)
            continue
        if isinstance(record, ObjectRecord):
            item = object_item(record, invocation, shards=shards, processed_at=processed_at)
            size = entry_size(entry_for(item, event_bus_name=event_bus_name))
            if size > max_entry_bytes:
                record = oversized(record, size, max_entry_bytes)
        if isinstance(record, InvalidRecord):
            logger.warning("invalid record: %s", record.message)
            item = error_item(record, invocation, shards=shards, processed_at=processed_at)
        if item_key(item) in items:
            summary.duplicates += 1
            continue
        items[item_key(item)] = item
    return list(items.values())


def process(
    records: Sequence[ParsedRecord],
    deps: Dependencies,
    invocation: Invocation,
    trace: Trace,
    *,
    now: datetime | None = None,
    max_entry_bytes: int = MAX_REQUEST_BYTES,
) -> Summary:
    settings = deps.settings
    summary = Summary(records=len(records))
    with trace.span("process_s3_records") as root:
        root.annotate("requestId", invocation.aws_request_id)
        root.annotate("functionName", invocation.function_name)
        items = plan_items(
            records,
            invocation,
            shards=settings.time_index_shards,
            event_bus_name=settings.event_bus_name,
            processed_at=now or datetime.now(UTC),
            max_entry_bytes=max_entry_bytes,
            summary=summary,
        )
        to_publish = [
            item for item in (_write(item, deps, trace, summary) for item in items) if item is not None
        ]
        published = _publish(to_publish, deps, trace, summary)
        _mark(published, deps, trace, summary)
        root.metadata("summary", summary.as_dict())
        if summary.failed or summary.errors:
            root.annotate("error", f"{summary.failed} transient failure(s), {summary.errors} bad record(s)")
    return summary


def _write(item: dict[str, Any], deps: Dependencies, trace: Trace, summary: Summary) -> dict[str, Any] | None:
    """The conditional PENDING write; the item to publish, or None (duplicate or failed)."""
    with trace.span("dynamodb_write") as span:
        span.annotate("requestId", item[contract.TABLE_PARTITION_KEY])
        span.metadata("object", {name: item.get(name) for name in OBJECT_METADATA})
        if item["status"] == contract.STATUS_ERROR:
            span.annotate("error", item["errorMessage"])
        try:
            with trace.aws_call("DynamoDB", "PutItem", table_name=deps.settings.table_name):
                result = put_pending(deps.dynamodb, deps.settings.table_name, item)
        except (ClientError, BotoCoreError) as error:
            span.fail(f"PutItem failed: {error}")
            logger.error("writing %s failed: %s", item[contract.TABLE_PARTITION_KEY], error)
            summary.failed += 1
            return None
        span.metadata("outcome", result.outcome.value)
    if result.outcome is PutOutcome.PUBLISHED_EXISTS:
        summary.duplicates += 1
        return None
    if result.outcome is PutOutcome.PENDING_EXISTS:
        summary.resumed += 1
    return result.item


def _publish(
    items: list[dict[str, Any]], deps: Dependencies, trace: Trace, summary: Summary
) -> list[dict[str, Any]]:
    if not items:
        return []
    entries = [entry_for(item, event_bus_name=deps.settings.event_bus_name) for item in items]
    with trace.span("publish_events") as span, trace.aws_call("EventBridge", "PutEvents") as call:
        report = publish(deps.events, entries, trace_header=trace.downstream_header(), backoff=deps.backoff)
        span.metadata(
            "publish", {"entries": len(entries), "calls": report.calls, "failed": len(report.failed)}
        )
        if report.failed:
            codes = sorted(set(report.failed.values()))
            call.fail(f"{len(report.failed)} entries not published: {', '.join(codes)}")
            logger.error("%d event(s) not published after retries: %s", len(report.failed), codes)
    summary.failed += len(report.failed)
    published = [items[index] for index in report.published]
    for item in published:
        if item["status"] == contract.STATUS_ERROR:
            summary.errors += 1
        else:
            summary.succeeded += 1
    return published


def _mark(items: list[dict[str, Any]], deps: Dependencies, trace: Trace, summary: Summary) -> None:
    """Record that the events went out. Not raised on failure: a retry would publish again."""
    if not items:
        return
    with trace.span("dynamodb_write") as span:
        span.metadata("mark_published", {"items": len(items)})
        try:
            with trace.aws_call("DynamoDB", "BatchWriteItem", table_name=deps.settings.table_name):
                left = mark_published(deps.dynamodb, deps.settings.table_name, items, backoff=deps.backoff)
        except (ClientError, BotoCoreError) as error:
            logger.error("marking %d item(s) published failed: %s", len(items), error)
            left = items
        if left:
            span.fail(f"{len(left)} item(s) left PENDING")
            left_ids = [item[contract.TABLE_PARTITION_KEY] for item in left]
            logger.error("%d published item(s) left PENDING: %s", len(left), left_ids)
    summary.unmarked += len(left)
