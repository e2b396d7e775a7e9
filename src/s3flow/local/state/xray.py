"""X-Ray: every segment document the trace store filed, as sent.

Put back through moto's own ``process_segment`` (what ``PutTraceSegments`` calls), so
``GetTraceSummaries`` and ``BatchGetTraces`` answer as before. Not kept: telemetry records
(nothing reads them).
"""

from __future__ import annotations

from typing import Any


def _backend(account: str, region: str) -> Any:
    from moto.xray.models import xray_backends

    return xray_backends[account][region]


def export(account: str, region: str) -> list[str]:
    """The raw documents of every trace's segments."""
    traces = _backend(account, region)._segment_collection._traces
    return [segment.raw for trace in list(traces.values()) for segment in list(trace["segments"])]


def restore(account: str, region: str, saved: list[str]) -> list[str]:
    backend = _backend(account, region)
    for document in saved:
        backend.process_segment(document)
    return []
