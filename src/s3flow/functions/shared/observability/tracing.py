"""Tracing for one invocation: OpenTelemetry spans exported to X-Ray, or nothing.

Lambda puts the invocation's trace context in ``_X_AMZN_TRACE_ID``
(``Root=1-...;Parent=<16 hex>;Sampled=1``). When it is present and sampled, spans become
children of the Lambda function segment and are exported by ``xray.XRayDaemonExporter``
as each one ends (so everything is sent before the handler returns). Otherwise a no-op
trace is used and the OpenTelemetry SDK is never imported: unsampled invocations and
cold starts do not pay for it.

Tracing never breaks processing: any failure to set it up falls back to the no-op trace.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

from s3flow.functions.shared.observability.trace_header import TraceHeader

TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"
TRACER_NAME = "s3flow.functions"
ANNOTATIONS_ATTRIBUTE = "aws.xray.annotations"

logger = logging.getLogger(__name__)


class Span:
    """What processing code may do with a span; the no-op version does nothing."""

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        """An indexed X-Ray annotation (filterable in the console)."""

    def metadata(self, key: str, value: Any) -> None:
        """Unindexed X-Ray metadata; dicts are flattened to ``key.sub`` entries."""

    def fail(self, message: str) -> None:
        """Mark the span as failed without an exception."""


class Trace:
    """No-op trace: used when the invocation is not sampled or has no trace header."""

    @contextlib.contextmanager
    def span(self, name: str) -> Iterator[Span]:
        yield Span()

    @contextlib.contextmanager
    def aws_call(self, service: str, operation: str, *, table_name: str | None = None) -> Iterator[Span]:
        yield Span()


class _OtelSpan(Span):
    def __init__(self, span: Any) -> None:
        self._span = span
        self._annotation_keys: list[str] = []

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        self._span.set_attribute(key, value)
        if key not in self._annotation_keys:
            self._annotation_keys.append(key)
            self._span.set_attribute(ANNOTATIONS_ATTRIBUTE, list(self._annotation_keys))

    def metadata(self, key: str, value: Any) -> None:
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                self.metadata(f"{key}.{sub_key}", sub_value)
        elif value is None:
            return
        elif isinstance(value, str | bool | int | float):
            self._span.set_attribute(key, value)
        else:
            self._span.set_attribute(key, json.dumps(value, default=str))

    def fail(self, message: str) -> None:
        from opentelemetry.trace import Status, StatusCode

        self._span.set_status(Status(StatusCode.ERROR, message))


class _OtelTrace(Trace):
    def __init__(self, tracer: Any, region: str | None) -> None:
        self._tracer = tracer
        self._region = region

    @contextlib.contextmanager
    def span(self, name: str) -> Iterator[Span]:
        with self._tracer.start_as_current_span(name) as span:
            yield _OtelSpan(span)

    @contextlib.contextmanager
    def aws_call(self, service: str, operation: str, *, table_name: str | None = None) -> Iterator[Span]:
        from opentelemetry.trace import SpanKind

        attributes = _aws_call_attributes(service, operation, table_name=table_name, region=self._region)
        name = f"{service}.{operation}"
        with self._tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
            yield _OtelSpan(span)


def _aws_call_attributes(
    service: str, operation: str, *, table_name: str | None = None, region: str | None = None
) -> dict[str, Any]:
    attributes: dict[str, Any] = {"rpc.system": "aws-api", "rpc.service": service, "rpc.method": operation}
    if table_name:
        attributes["aws.dynamodb.table_names"] = [table_name]
    if region:
        attributes["cloud.region"] = region
    return attributes


_provider: Any = None


def _tracer() -> Any:
    """The container's tracer, built on first use (first sampled invocation)."""
    global _provider
    if _provider is None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

        from s3flow.functions.shared.observability.xray import XRayDaemonExporter

        provider = TracerProvider(sampler=ParentBased(ALWAYS_OFF), resource=Resource.get_empty())
        provider.add_span_processor(SimpleSpanProcessor(XRayDaemonExporter()))
        _provider = provider
    return _provider.get_tracer(TRACER_NAME)


def _remote_parent(header: TraceHeader) -> Any:
    """An OpenTelemetry context whose current span is the header's (sampled) parent segment."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    parent = SpanContext(
        trace_id=header.trace_id,
        span_id=int(header.parent or "0", 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


@contextlib.contextmanager
def invocation_trace(header_value: str | None, *, region: str | None = None) -> Iterator[Trace]:
    """The trace for one invocation, parented on Lambda's function segment when sampled."""
    header = TraceHeader.parse(header_value)
    if header is None or not header.sampled or header.parent is None:
        yield Trace()
        return
    try:
        from opentelemetry import context as otel_context

        token = otel_context.attach(_remote_parent(header))
        traced: Trace = _OtelTrace(_tracer(), region)
    except Exception:  # noqa: BLE001 - tracing must never fail the invocation
        logger.warning("tracing disabled for this invocation", exc_info=True)
        yield Trace()
        return
    try:
        yield traced
    finally:
        otel_context.detach(token)


def record_call_in(
    header_value: str | None,
    *,
    span_name: str,
    service: str,
    operation: str,
    start_ns: int,
    end_ns: int,
    region: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> None:
    """Record a call that already happened in another invocation's trace, if that one is sampled.

    The publisher sends the events of records that other invocations wrote; each object's own
    trace (``header_value``, the processor's) gets a ``span_name`` span holding the AWS call,
    with the call's real start and end, so one trace shows the object from upload to event.
    """
    header = TraceHeader.parse(header_value)
    if header is None or not header.sampled or header.parent is None:
        return
    try:
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind

        tracer = _tracer()
        outer = tracer.start_span(
            span_name,
            context=_remote_parent(header),
            start_time=start_ns,
            attributes=attributes or {},
        )
        call = tracer.start_span(
            f"{service}.{operation}",
            context=trace.set_span_in_context(outer),
            kind=SpanKind.CLIENT,
            start_time=start_ns,
            attributes=_aws_call_attributes(service, operation, region=region),
        )
        call.end(end_time=end_ns)
        outer.end(end_time=end_ns)
    except Exception:  # noqa: BLE001 - tracing must never fail the invocation
        logger.warning("could not record the call in trace %s", header.root, exc_info=True)
