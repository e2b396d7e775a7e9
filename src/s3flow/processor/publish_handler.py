"""Lambda entry point of the publisher: table stream batch in, events out, failures reported.

The logic lives in ``outbox``; this module parses, gets its dependencies, publishes and
observes. It needs only the bus (``EVENT_BUS_NAME``): no table name, no DynamoDB client.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from s3flow import contract
from s3flow.processor import logs, metrics, outbox
from s3flow.processor.backoff import Backoff
from s3flow.processor.publisher import PublishReport, publish
from s3flow.processor.settings import PublisherSettings
from s3flow.processor.tracing import TRACE_HEADER_ENV, Trace, invocation_trace

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

logs.configure()
logger = logging.getLogger(__name__)
_warm = False


@dataclass(frozen=True)
class PublisherDependencies:
    settings: PublisherSettings
    events: EventBridgeClient | Any
    backoff: Backoff
    region: str | None


@functools.cache
def publisher_dependencies() -> PublisherDependencies:
    """Settings and the EventBridge client, built once per container (tests: ``cache_clear()``)."""
    settings = PublisherSettings.from_env()
    session = boto3.session.Session()
    return PublisherDependencies(
        settings=settings, events=session.client("events"), backoff=Backoff(), region=session.region_name
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    trace_header = os.environ.get(TRACE_HEADER_ENV)  # per invocation: Lambda sets it for each one
    with _observed(context, trace_header) as summary:
        deps = publisher_dependencies()
        records = outbox.parse_stream_event(event)
        summary.records = len(records)
        with invocation_trace(trace_header, region=deps.region) as trace:
            response = _publish_records(records, deps, trace, summary)
        logger.info("stream batch handled", extra={"summary": summary.as_dict(), **response})
        return response


def _publish_records(
    records: list[outbox.StreamRecord],
    deps: PublisherDependencies,
    trace: Trace,
    summary: outbox.PublishSummary,
) -> dict[str, list[dict[str, str]]]:
    plan = outbox.plan(records, event_bus_name=deps.settings.event_bus_name)
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
        delivery = outbox.deliver([sent.entry for sent in plan.outgoing], _sender(deps, trace))
        summary.published, summary.failed = len(delivery.published), len(delivery.failed)
        summary.calls = delivery.calls
        span.metadata("publish", {"entries": len(plan.outgoing), "calls": delivery.calls,
                                  "failed": len(delivery.failed)})  # fmt: skip
        first_failed = outbox.earliest_failure(plan.outgoing, delivery.failed)
        if first_failed is not None:
            span.fail(f"{len(delivery.failed)} event(s) not published")
            _log_failures(plan.outgoing, delivery.failed, first_failed)
    return outbox.batch_response(first_failed)


def _sender(deps: PublisherDependencies, trace: Trace) -> Callable[[list[dict[str, Any]]], PublishReport]:
    def send(entries: list[dict[str, Any]]) -> PublishReport:
        # No trace_header: each entry carries its own record's (``outbox.entry_with_trace``).
        with trace.aws_call("EventBridge", "PutEvents") as call:
            report = publish(deps.events, entries, backoff=deps.backoff)
            if report.failed:
                codes = ", ".join(sorted(set(report.failed.values())))
                call.fail(f"{len(report.failed)} entries not published: {codes}")
        return report

    return send


def _log_failures(outgoing: list[outbox.Outgoing], failed: dict[int, str], first: outbox.Outgoing) -> None:
    retry_from = first.record.sequence_number
    for index in sorted(failed):
        with logs.object_context(outgoing[index].item):
            logger.error(
                "event not published; the batch is retried from sequence number %s",
                retry_from,
                extra={**_identity(outgoing[index].record), "errorCode": failed[index]},
            )


def _identity(record: outbox.StreamRecord) -> dict[str, Any]:
    return {"eventName": record.event_name, "sequenceNumber": record.sequence_number, "keys": record.keys}


def _cold_start() -> bool:
    global _warm
    cold, _warm = not _warm, True
    return cold


@contextlib.contextmanager
def _observed(context: Any, trace_header: str | None) -> Iterator[outbox.PublishSummary]:
    """Log lines carry the invocation's ids; one EMF document is written however the handler leaves."""
    environment = os.environ.get(contract.ENV_ENVIRONMENT) or "dev"
    request_id = str(getattr(context, "aws_request_id", None) or "unknown")
    function_name = str(getattr(context, "function_name", None) or "unknown")
    cold_start = _cold_start()
    summary = outbox.PublishSummary()
    with logs.invocation_context(
        request_id=request_id,
        trace_header=trace_header,
        function_name=function_name,
        environment=environment,
        cold_start=cold_start,
    ):
        try:
            yield summary
        except Exception:
            logger.exception("invocation failed")
            raise
        finally:
            properties = {
                "requestId": request_id,
                "traceId": logs.trace_root(trace_header),
                "functionName": function_name,
                "coldStart": cold_start,
            }
            metrics.emit(_emf_document(outbox.metric_values(summary), environment, properties))


def _emf_document(values: dict[str, float], environment: str, properties: dict[str, Any]) -> dict[str, Any]:
    """``metrics.emf_document`` for the metrics it knows, plus the publisher's own ones.

    Until ``METRIC_UNPUBLISHABLE_RECORDS`` joins ``contract`` and ``metrics.UNITS``.
    """
    known = {name: value for name, value in values.items() if name in metrics.UNITS}
    document = metrics.emf_document(
        known, environment=environment, timestamp_ms=int(time.time() * 1000), properties=properties
    )
    for name, value in values.items():
        if name not in known:
            document["_aws"]["CloudWatchMetrics"][0]["Metrics"].append(
                {"Name": name, "Unit": outbox.PUBLISHER_UNITS[name]}
            )
            document[name] = value
    return document
