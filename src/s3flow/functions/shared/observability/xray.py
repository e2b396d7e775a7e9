"""A small OpenTelemetry ``SpanExporter`` that sends spans to the X-Ray daemon.

Each finished span becomes an X-Ray subsegment document sent on its own (``type:
subsegment`` with ``parent_id``), under the Lambda function segment named by the
invocation's ``_X_AMZN_TRACE_ID``. Wire format: one UDP datagram per document,
``{"format": "json", "version": 1}\\n`` followed by the JSON document, to
``AWS_XRAY_DAEMON_ADDRESS`` (Lambda sets it; default ``127.0.0.1:2000``).

Attribute mapping (the same conventions the ADOT X-Ray exporter reads, so switching to
OTLP later keeps the data):
- ``rpc.system = "aws-api"`` -> ``namespace: "aws"``, name = ``rpc.service``,
  ``aws.operation`` = ``rpc.method``, ``aws.table_name`` from ``aws.dynamodb.table_names``;
- keys listed in ``aws.xray.annotations`` -> ``annotations`` (indexed, filterable);
- every other attribute -> ``metadata.default``.

Imported only when a sampled invocation needs it: the SDK costs import time.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

DAEMON_ADDRESS_ENV = "AWS_XRAY_DAEMON_ADDRESS"
DEFAULT_DAEMON_ADDRESS = "127.0.0.1:2000"
DAEMON_HEADER = b'{"format": "json", "version": 1}\n'
# A segment document may be up to 64 kB; it must also fit one UDP datagram.
MAX_DOCUMENT_BYTES = 64_000
ANNOTATIONS_ATTRIBUTE = "aws.xray.annotations"
_RPC_ATTRIBUTES = {
    "rpc.system",
    "rpc.service",
    "rpc.method",
    "aws.dynamodb.table_names",
    "aws.request_id",
    "cloud.region",
    ANNOTATIONS_ATTRIBUTE,
}
_ANNOTATION_KEY_INVALID = re.compile(r"[^A-Za-z0-9_]")
ANNOTATION_TEXT_LIMIT = 1000


def xray_trace_id(trace_id: int) -> str:
    hex_id = f"{trace_id:032x}"
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


def daemon_address(value: str | None = None) -> tuple[str, int]:
    """``host:port``, or the ``tcp:host:port udp:host:port`` form: the UDP one."""
    value = (value if value is not None else os.environ.get(DAEMON_ADDRESS_ENV)) or DEFAULT_DAEMON_ADDRESS
    for part in value.split():
        if part.startswith("udp:"):
            value = part[len("udp:") :]
            break
    host, _, port = value.strip().rpartition(":")
    return host or "127.0.0.1", int(port)


def _annotation_value(value: Any) -> str | int | float | bool:
    if isinstance(value, bool | int | float):
        return value
    return str(value)[:ANNOTATION_TEXT_LIMIT]


def segment_document(span: ReadableSpan) -> dict[str, Any]:
    """The X-Ray subsegment document for one finished span."""
    context = span.get_span_context()
    if context is None:
        raise ValueError(f"span {span.name!r} has no context")
    attributes: dict[str, Any] = dict(span.attributes or {})
    document: dict[str, Any] = {
        "type": "subsegment",
        "name": span.name,
        "id": f"{context.span_id:016x}",
        "trace_id": xray_trace_id(context.trace_id),
        "start_time": (span.start_time or 0) / 1e9,
        "end_time": (span.end_time or span.start_time or 0) / 1e9,
    }
    if span.parent is not None:
        document["parent_id"] = f"{span.parent.span_id:016x}"
    if attributes.get("rpc.system") == "aws-api":
        document["namespace"] = "aws"
        document["name"] = str(attributes.get("rpc.service") or span.name)
        aws: dict[str, Any] = {"operation": attributes.get("rpc.method")}
        tables = attributes.get("aws.dynamodb.table_names")
        if tables:
            aws["table_name"] = tables[0]
        if attributes.get("aws.request_id"):
            aws["request_id"] = attributes["aws.request_id"]
        if attributes.get("cloud.region"):
            aws["region"] = attributes["cloud.region"]
        document["aws"] = aws
    annotation_keys = set(attributes.get(ANNOTATIONS_ATTRIBUTE) or ())
    annotations = {
        _ANNOTATION_KEY_INVALID.sub("_", key): _annotation_value(value)
        for key, value in attributes.items()
        if key in annotation_keys
    }
    metadata = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in attributes.items()
        if key not in annotation_keys and key not in _RPC_ATTRIBUTES
    }
    if annotations:
        document["annotations"] = annotations
    if metadata:
        document["metadata"] = {"default": metadata}
    if span.status.status_code is StatusCode.ERROR:
        document["fault"] = True
        exceptions = [
            {
                "id": f"{index:016x}",
                "type": str((event.attributes or {}).get("exception.type", "")),
                "message": str((event.attributes or {}).get("exception.message", "")),
            }
            for index, event in enumerate(span.events, start=1)
            if event.name == "exception"
        ]
        if not exceptions:
            exceptions = [{"id": f"{1:016x}", "message": span.status.description or "error"}]
        document["cause"] = {"exceptions": exceptions}
    return document


def daemon_packet(document: dict[str, Any]) -> bytes | None:
    """Header + JSON, or None when even without metadata it is too big to send."""
    body = json.dumps(document, separators=(",", ":"), default=str).encode("utf-8")
    if len(body) > MAX_DOCUMENT_BYTES and "metadata" in document:
        document = {**document, "metadata": {"default": {"truncated": True}}}
        body = json.dumps(document, separators=(",", ":"), default=str).encode("utf-8")
    if len(body) > MAX_DOCUMENT_BYTES:
        return None
    return DAEMON_HEADER + body


class XRayDaemonExporter(SpanExporter):
    """Sends each span as a subsegment over UDP. Never raises: tracing must not break work."""

    def __init__(self, address: str | None = None) -> None:
        self._address = address
        self._socket: socket.socket | None = None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            target = daemon_address(self._address)
            if self._socket is None:
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for span in spans:
                packet = daemon_packet(segment_document(span))
                if packet is not None:
                    self._socket.sendto(packet, target)
        except Exception:  # noqa: BLE001 - any failure to trace is dropped, never raised
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
