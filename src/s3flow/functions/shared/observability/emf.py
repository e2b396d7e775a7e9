"""CloudWatch metrics in embedded metric format (EMF): one JSON document per invocation on stdout.

CloudWatch Logs turns the document into metrics in namespace ``contract.METRICS_NAMESPACE``
with the one dimension ``Environment``; no PutMetricData call, no client, no extra latency.
Hand-written (about forty lines) rather than Powertools Metrics: see docs/observability.md.

What each metric counts, per invocation:
- ObjectsProcessed: objects whose SUCCESS record this invocation wrote;
- ProcessingErrors: records that became error records (bad records, failed steps, oversized
  events). Transient failures and crashes are not counted here: the
  handler raises for them, so Lambda's own Errors metric (and then the failure queue) has them;
- DuplicatesSkipped: records already processed (redeliveries, repeats in one event);
- BytesProcessed: total ``size`` of the objects counted in ObjectsProcessed;
- ProcessingLatency: the handler's wall time in milliseconds;
- EventsPublished (publisher): PutEvents entries EventBridge accepted;
- UnpublishableRecords (publisher): stream records that can never become an event.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from s3flow import contract

UNITS: dict[str, str] = {
    contract.METRIC_OBJECTS_PROCESSED: "Count",
    contract.METRIC_PROCESSING_ERRORS: "Count",
    contract.METRIC_DUPLICATES_SKIPPED: "Count",
    contract.METRIC_BYTES_PROCESSED: "Bytes",
    contract.METRIC_PROCESSING_LATENCY: "Milliseconds",
    contract.METRIC_EVENTS_PUBLISHED: "Count",
    contract.METRIC_UNPUBLISHABLE_RECORDS: "Count",
}


def metric_values(summary: Mapping[str, int] | None, *, latency_ms: float) -> dict[str, float]:
    """The processor's five metrics from an invocation summary (None when it failed before one)."""
    counts = summary or {}
    return {
        contract.METRIC_OBJECTS_PROCESSED: counts.get("succeeded", 0),
        contract.METRIC_PROCESSING_ERRORS: counts.get("errors", 0),
        contract.METRIC_DUPLICATES_SKIPPED: counts.get("duplicates", 0),
        contract.METRIC_BYTES_PROCESSED: counts.get("bytes", 0),
        contract.METRIC_PROCESSING_LATENCY: round(latency_ms, 3),
    }


def emf_document(
    values: Mapping[str, float],
    *,
    environment: str,
    timestamp_ms: int,
    properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An EMF document: metadata under ``_aws``, dimension and metric values at the top level.

    ``properties`` (request id, trace id, ...) are extra top-level members: searchable in
    Logs Insights, not metrics.
    """
    extra = properties or {}
    document: dict[str, Any] = {name: value for name, value in extra.items() if value is not None}
    document.update(
        {
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": contract.METRICS_NAMESPACE,
                        "Dimensions": [[contract.METRICS_DIMENSION_ENVIRONMENT]],
                        "Metrics": [{"Name": name, "Unit": UNITS[name]} for name in values],
                    }
                ],
            },
            contract.METRICS_DIMENSION_ENVIRONMENT: environment,
            **values,
        }
    )
    return document


def emit(document: Mapping[str, Any]) -> None:
    """One line on stdout, flushed: Lambda may freeze the process right after the handler returns."""
    sys.stdout.write(json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
