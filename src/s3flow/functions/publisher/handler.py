"""Lambda entry point of the publisher: table stream batch in, events out, failures reported.

The logic lives in ``outbox``; this module parses, gets its dependencies, publishes and
observes. It needs only the bus (``EVENT_BUS_NAME``): no table name, no DynamoDB client.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from s3flow.functions.publisher import failure_queue, outbox
from s3flow.functions.publisher.delivery import PublishReport, publish
from s3flow.functions.shared.aws_api import EVENTBRIDGE, SQS, JsonApiClient
from s3flow.functions.shared.backoff import Backoff
from s3flow.functions.shared.observability import logs
from s3flow.functions.shared.observability.context import observed
from s3flow.functions.shared.observability.tracing import (
    TRACE_HEADER_ENV,
    Trace,
    invocation_trace,
    record_call_in,
)
from s3flow.functions.shared.settings import PublisherSettings

if TYPE_CHECKING:
    from concurrent.futures import Executor

logs.configure()
logger = logging.getLogger(__name__)
# Records this container has published or kept in the failure queue: a retried batch skips
# them (``outbox.RecentlyPublished``).
_published = outbox.RecentlyPublished()


@dataclass(frozen=True)
class PublisherDependencies:
    settings: PublisherSettings
    events: JsonApiClient
    backoff: Backoff
    region: str | None
    # Only for entries kept in the failure queue (rare): created on first use.
    sqs: Callable[[], JsonApiClient]
    # PutEvents calls in flight at once, and their threads: made for the first batch of more
    # than one chunk, so a cold start pays for neither.
    put_concurrency: int = 1
    put_threads: Callable[[], Executor] | None = None


@functools.cache
def publisher_dependencies() -> PublisherDependencies:
    """Settings and the EventBridge client, built once per container (tests: ``cache_clear()``)."""
    settings = PublisherSettings.from_env()
    concurrency = settings.put_concurrency
    # Not botocore: see ``s3flow.functions.shared.aws_api``. Each thread keeps its own connection.
    events = JsonApiClient(EVENTBRIDGE, connection_per_thread=concurrency > 1)
    return PublisherDependencies(
        settings=settings,
        events=events,
        backoff=Backoff(),
        region=events.region,
        sqs=functools.cache(lambda: JsonApiClient(SQS)),
        put_concurrency=concurrency,
        put_threads=functools.cache(lambda: _put_threads(concurrency)),
    )


def _put_threads(workers: int) -> Executor:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="publisher-put-events")


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    trace_header = os.environ.get(TRACE_HEADER_ENV)  # per invocation: Lambda sets it for each one
    with observed(context, trace_header, values=outbox.metric_values) as observation:
        summary = outbox.PublishSummary()
        try:
            deps = publisher_dependencies()
            records = outbox.parse_stream_event(event)
            summary.records = len(records)
            with invocation_trace(trace_header, region=deps.region) as trace:
                response = _publish_records(records, deps, trace, summary)
        finally:
            observation.summary = summary.as_dict()
        # A clean batch is fully told by the EMF line (EventsPublished): its summary only at
        # DEBUG, which halves the publisher's log bytes (docs/performance.md).
        clean = not (summary.failed or summary.unpublishable)
        level = logging.DEBUG if clean else logging.INFO
        logger.log(level, "stream batch handled", extra={"summary": observation.summary, **response})
        return response


def _publish_records(
    records: list[outbox.StreamRecord],
    deps: PublisherDependencies,
    trace: Trace,
    summary: outbox.PublishSummary,
) -> dict[str, list[dict[str, str]]]:
    plan = outbox.plan(records, event_bus_name=deps.settings.event_bus_name, already_published=_published)
    summary.skipped = len(plan.skipped)
    summary.unpublishable = len(plan.unpublishable)
    for skipped in plan.skipped:
        logger.debug("stream record skipped: %s", skipped.reason, extra=_identity(skipped.record))
    for bad in plan.unpublishable:
        # A bug in our pipeline, not a transient failure: no retry can fix the record. Reported
        # as a batch item failure it would hold up every later record of the shard through all
        # the mapping's retries, and then reach the failure queue only as batch metadata (shard
        # and sequence range, no keys). Skipping it loses the same event without the wait, and
        # this line keeps its keys; ``METRIC_UNPUBLISHABLE_RECORDS`` lets an alarm see it.
        logger.error("stream record cannot be published: %s", bad.reason, extra=_identity(bad.record))
    if not plan.outgoing:
        return outbox.batch_response(None)
    with trace.span("publish_events") as span:
        send = _sender(deps, trace)
        delivery = _deliver(plan.outgoing, list(range(len(plan.outgoing))), send, deps)
        first_failed = outbox.earliest_failure(plan.outgoing, delivery.failed)
        kept: set[int] = set()
        if first_failed is not None and _keep_instead_of_retrying(
            plan.outgoing, delivery, first_failed, deps
        ):
            # A retry from the failed record would send again what was accepted behind it:
            # finish the batch here, and keep what still fails in the failure queue.
            _deliver_held_back(plan.outgoing, delivery, send, deps)
            kept = _keep(plan.outgoing, delivery.failed, deps)
            summary.retained = len(kept)
            # Lambda retries only from an entry the queue did not take, if any.
            first_failed = outbox.earliest_failure(
                plan.outgoing, {index: code for index, code in delivery.failed.items() if index not in kept}
            )
        summary.published, summary.failed = len(delivery.published), len(delivery.failed)
        # Published or kept: either way done, so a retry of this batch must not send it again.
        for index in [*delivery.published, *kept]:
            _published.add(plan.outgoing[index].record.event_id)
        summary.calls = delivery.calls
        span.metadata("publish", {"entries": len(plan.outgoing), "calls": delivery.calls,
                                  "failed": len(delivery.failed)})  # fmt: skip
        if delivery.failed:
            span.fail(f"{len(delivery.failed)} event(s) not published")
            _log_failures(plan.outgoing, delivery.failed, kept, first_failed)
    return outbox.batch_response(first_failed)


def _deliver(
    outgoing: list[outbox.Outgoing],
    indexes: list[int],
    send: Callable[[list[dict[str, Any]]], PublishReport],
    deps: PublisherDependencies,
) -> outbox.Delivery:
    """``outbox.deliver`` of these entries, ``deps.put_concurrency`` chunks at a time."""
    return outbox.deliver(
        [outgoing[index].entry for index in indexes],
        send,
        concurrency=deps.put_concurrency,
        threads=deps.put_threads,
        items=[_item_identity(outgoing[index].record) for index in indexes],
    )


def _item_identity(record: outbox.StreamRecord) -> Hashable:
    """The table item a record is about: its keys, as DynamoDB JSON, in a comparable form."""
    return json.dumps(record.keys, sort_keys=True, default=str)


def _deliver_held_back(
    outgoing: list[outbox.Outgoing],
    delivery: outbox.Delivery,
    send: Callable[..., PublishReport],
    deps: PublisherDependencies,
) -> None:
    """Send the chunks ``deliver`` held back after the failure, updating ``delivery`` in place."""
    held = sorted(index for index, code in delivery.failed.items() if code == outbox.NOT_ATTEMPTED)
    if not held:
        return
    rest = _deliver(outgoing, held, send, deps)
    delivery.calls += rest.calls
    for position in rest.published:
        del delivery.failed[held[position]]
        delivery.published.append(held[position])
    delivery.failed.update({held[position]: code for position, code in rest.failed.items()})


def _keep_instead_of_retrying(
    outgoing: list[outbox.Outgoing],
    delivery: outbox.Delivery,
    first_failed: outbox.Outgoing,
    deps: PublisherDependencies,
) -> bool:
    """Keep the unsent entries in the failure queue, not retry the batch, when the queue is
    configured and EventBridge accepted entries behind the failed one: a retry from it (Lambda's,
    or a redrive of the batch) would send those again. Entries that failed with nothing accepted
    behind them are left to Lambda's retry, which duplicates nothing."""
    return bool(deps.settings.failure_queue_url) and outbox.accepted_behind(outgoing, delivery, first_failed)


def _keep(outgoing: list[outbox.Outgoing], failed: dict[int, str], deps: PublisherDependencies) -> set[int]:
    """Put each failed entry in the failure queue; the indexes of those the queue took.

    Only those are done: an entry it refused stays failing, so Lambda retries the batch from
    it (nothing is lost), while the kept ones are remembered and not sent or kept again.
    """
    url = deps.settings.failure_queue_url
    if not url:
        return set()
    # ASCII JSON (json.dumps' default): every character is one SQS accepts, one byte each.
    messages = [
        failure_queue.Message(index, json.dumps(message, default=str))
        for index, message in outbox.unpublished_messages(outgoing, failed).items()
    ]
    report = failure_queue.send(deps.sqs(), url, messages, backoff=deps.backoff)
    if report.refused:
        codes = ", ".join(sorted(set(report.refused.values())))
        logger.error("the failure queue did not take %d unpublished event(s): %s", len(report.refused), codes)
    return set(report.queued)


def _sender(deps: PublisherDependencies, trace: Trace) -> Callable[[list[dict[str, Any]]], PublishReport]:
    def send(entries: list[dict[str, Any]]) -> PublishReport:
        # Each entry carries its own record's TraceHeader (``outbox.entry_with_trace``).
        with trace.aws_call("EventBridge", "PutEvents") as call:
            started = time.time_ns()
            report = publish(deps.events, entries, backoff=deps.backoff)
            ended = time.time_ns()
            if report.failed:
                codes = ", ".join(sorted(set(report.failed.values())))
                call.fail(f"{len(report.failed)} entries not published: {codes}")
        for index in report.published:
            record_call_in(
                entries[index].get("TraceHeader"),
                span_name="publish_event",
                service="EventBridge",
                operation="PutEvents",
                start_ns=started,
                end_ns=ended,
                region=deps.region,
            )
        return report

    return send


def _log_failures(
    outgoing: list[outbox.Outgoing],
    failed: dict[int, str],
    kept: set[int],
    retry_from: outbox.Outgoing | None,
) -> None:
    """One line per unpublished event: kept in the failure queue, or retried with its batch."""
    for index in sorted(failed):
        with logs.object_context(outgoing[index].item):
            extra = {**_identity(outgoing[index].record), "errorCode": failed[index]}
            if index in kept or retry_from is None:  # without a retry, every failed entry was kept
                logger.error("event not published; kept in the publisher's failure queue", extra=extra)
            else:
                logger.error(
                    "event not published; the batch is retried from sequence number %s",
                    retry_from.record.sequence_number,
                    extra=extra,
                )


def _identity(record: outbox.StreamRecord) -> dict[str, Any]:
    return {"eventName": record.event_name, "sequenceNumber": record.sequence_number, "keys": record.keys}
