"""Traces from X-Ray (moto's locally): list them, and flatten one into a timeline of spans.

Reads X-Ray segment documents (the same on AWS and locally), so it needs nothing from
the local runtime.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from s3flow.cli.target import Target

BATCH = 5  # BatchGetTraces takes at most 5 ids per call
MAX_DEPTH = 64
# Where the processor's record write keeps the object's key: its span's metadata (not an
# annotation: X-Ray indexes at most 50 annotations per trace, and an event may carry more objects).
OBJECT_KEY_METADATA = "object.objectKey"


@dataclass(frozen=True)
class Span:
    name: str
    start: float  # epoch seconds
    end: float | None
    depth: int
    annotations: dict[str, Any] = field(default_factory=dict)
    namespace: str = ""
    operation: str = ""
    error: bool = False
    object_key: str | None = None  # set on the spans that wrote an object's record

    @property
    def duration_ms(self) -> float | None:
        return None if self.end is None else (self.end - self.start) * 1000

    @property
    def kind(self) -> str:
        """processing | dynamodb | eventbridge | other: what the span did, from its name and AWS call."""
        text = " ".join((self.name, self.namespace, self.operation)).lower()
        if "dynamodb" in text or "putitem" in text or "batchwriteitem" in text:
            return "dynamodb"
        if any(word in text for word in ("eventbridge", "putevents", "put_events", "publish")):
            return "eventbridge"
        if "process" in text or "handler" in text:
            return "processing"
        return "other"


@dataclass(frozen=True)
class TraceSummary:
    trace_id: str
    duration_s: float
    has_error: bool
    has_fault: bool


@dataclass(frozen=True)
class Timeline:
    trace_id: str
    spans: list[Span]

    @property
    def start(self) -> float:
        return min((s.start for s in self.spans), default=0.0)

    @property
    def end(self) -> float:
        return max((s.end or s.start for s in self.spans), default=0.0)

    @property
    def kinds(self) -> set[str]:
        return {span.kind for span in self.spans}

    @property
    def object_keys(self) -> list[str]:
        """The keys of the objects whose records this trace wrote, first written first."""
        return list(dict.fromkeys(span.object_key for span in self.spans if span.object_key))

    def annotations(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for span in self.spans:
            merged.update(span.annotations)
        return merged


def list_traces(
    target: Target, start: datetime | None = None, end: datetime | None = None, limit: int | None = None
) -> list[TraceSummary]:
    end = end or datetime.now(UTC) + timedelta(minutes=1)
    start = start or end - timedelta(hours=6)
    xray = target.client("xray")
    kwargs: dict[str, Any] = {"StartTime": start, "EndTime": end}
    summaries: list[TraceSummary] = []
    while True:
        page = xray.get_trace_summaries(**kwargs)
        for item in page.get("TraceSummaries", []):
            summaries.append(
                TraceSummary(
                    item["Id"],
                    float(item.get("Duration", 0)),
                    bool(item.get("HasError")),
                    bool(item.get("HasFault")),
                )
            )
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return summaries[-limit:] if limit else summaries


def get_timelines(target: Target, trace_ids: Iterable[str]) -> list[Timeline]:
    ids = list(trace_ids)
    xray = target.client("xray")
    timelines = []
    for i in range(0, len(ids), BATCH):
        for trace in xray.batch_get_traces(TraceIds=ids[i : i + BATCH]).get("Traces", []):
            timelines.append(timeline_of(trace["Id"], (s["Document"] for s in trace.get("Segments", []))))
    return timelines


def timeline_of(trace_id: str, documents: Iterable[str | dict[str, Any]]) -> Timeline:
    """Every segment and subsegment of a trace in start order, nested by parent id."""
    flat: list[tuple[dict[str, Any], str | None]] = []
    for document in documents:
        segment = json.loads(document) if isinstance(document, str) else document
        _flatten(segment, None, flat)
    parents = {doc.get("id"): parent for doc, parent in flat}

    def depth(span_id: str | None) -> int:
        level = 0
        while span_id in parents and parents[span_id] in parents and level < MAX_DEPTH:
            span_id, level = parents[span_id], level + 1
        return level

    spans = [_span(doc, depth(doc.get("id"))) for doc, _ in flat]
    spans.sort(key=lambda s: (s.start, s.depth))
    return Timeline(trace_id, spans)


def _flatten(doc: dict[str, Any], parent: str | None, into: list[tuple[dict[str, Any], str | None]]) -> None:
    into.append((doc, doc.get("parent_id", parent)))
    for sub in doc.get("subsegments") or ():
        _flatten(sub, doc.get("id"), into)


def _span(doc: dict[str, Any], depth: int) -> Span:
    aws: dict[str, Any] = doc["aws"] if isinstance(doc.get("aws"), dict) else {}
    metadata: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    default: dict[str, Any] = metadata["default"] if isinstance(metadata.get("default"), dict) else {}
    key = default.get(OBJECT_KEY_METADATA)
    return Span(
        name=str(doc.get("name", "?")),
        start=float(doc.get("start_time", 0)),
        end=float(doc["end_time"]) if doc.get("end_time") is not None else None,
        depth=depth,
        annotations=dict(doc.get("annotations") or {}),
        namespace=str(doc.get("namespace", "")),
        operation=str(aws.get("operation", "")),
        error=bool(doc.get("error") or doc.get("fault")),
        object_key=key if isinstance(key, str) else None,
    )
