"""The local trace store: an X-Ray daemon on UDP that files segments in moto's X-Ray.

Processes send segment documents the way they send them to the X-Ray daemon on Lambda: one
UDP datagram, ``{"format": "json", "version": 1}\\n`` followed by the JSON document, to
``AWS_XRAY_DAEMON_ADDRESS``. Each document is stored with ``PutTraceSegments`` on the local
server, so ``get_trace_summaries`` and ``batch_get_traces`` answer locally as on AWS
(moto keeps independent subsegments as separate documents; AWS merges them into their
segment: ``timeline`` reads either).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from s3flow.local.credentials import emulator_client

log = logging.getLogger(__name__)

MAX_DATAGRAM = 65_535


def parse_datagram(data: bytes) -> dict[str, Any] | None:
    """The segment document in one daemon datagram, or None if it is not one."""
    header, newline, body = data.partition(b"\n")
    if not newline:
        return None
    try:
        if json.loads(header).get("format") != "json":
            return None
        document = json.loads(body)
    except (ValueError, AttributeError):
        return None
    return document if isinstance(document, dict) else None


def xray_client(endpoint_url: str, region: str) -> Any:
    return emulator_client("xray", endpoint_url=endpoint_url, region=region)


class TraceStore:
    """UDP listener (the daemon's protocol) in front of moto's ``PutTraceSegments``."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        host: str = "127.0.0.1",
        port: int = 0,
        on_segment: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.on_segment = on_segment
        self._bind = (host, port)
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._lock = threading.Lock()
        self._storing = 0  # datagrams taken off the socket and not yet stored

    @property
    def address(self) -> str:
        """``host:port`` for ``AWS_XRAY_DAEMON_ADDRESS``."""
        if self._socket is None:
            raise RuntimeError("the trace store is not started")
        host, port = self._socket.getsockname()[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(self._bind)
        self._thread = threading.Thread(
            target=self._listen, args=(self._socket,), name="xray-daemon", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._socket is not None:
            sock, self._socket = self._socket, None
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def pending(self) -> bool:
        """Whether datagrams wait in the socket or are being stored."""
        with self._lock:
            if self._storing:
                return True
        sock = self._socket
        if sock is None:
            return False
        try:
            import fcntl  # POSIX only: elsewhere only datagrams being stored count as pending
            import termios

            waiting = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
        except (ImportError, OSError):
            return False
        return bool(waiting)

    def put(self, document: dict[str, Any]) -> None:
        """Files one segment or subsegment document."""
        with self._lock:
            if self._client is None:
                self._client = xray_client(self.endpoint_url, self.region)
            client = self._client
        answer = client.put_trace_segments(TraceSegmentDocuments=[json.dumps(document)])
        if answer.get("UnprocessedTraceSegments"):
            log.warning("X-Ray refused a segment: %s", answer["UnprocessedTraceSegments"])
        if self.on_segment is not None:
            self.on_segment(document)

    def _listen(self, sock: socket.socket) -> None:
        while True:
            try:
                data, _ = sock.recvfrom(MAX_DATAGRAM)
            except OSError:
                return
            with self._lock:
                self._storing += 1
            try:
                self._store(data)
            finally:
                with self._lock:
                    self._storing -= 1
            if not data and self._socket is None:
                return

    def _store(self, data: bytes) -> None:
        if not data:
            return
        document = parse_datagram(data)
        if document is None:
            log.warning("ignored a datagram that is not an X-Ray segment document")
            return
        try:
            self.put(document)
        except Exception:
            log.exception("could not store a segment")


@dataclass(frozen=True)
class TimelineEntry:
    """One span of a trace, placed relative to the trace's first start."""

    name: str
    start_offset_ms: float
    duration_ms: float | None  # None while in progress
    depth: int
    annotations: dict[str, Any] = field(default_factory=dict)
    error: bool = False


def _flatten(
    document: dict[str, Any], parent: str | None, into: list[tuple[dict[str, Any], str | None]]
) -> None:
    into.append((document, document.get("parent_id", parent)))
    for sub in document.get("subsegments") or ():
        _flatten(sub, document.get("id"), into)


def timeline(trace: dict[str, Any]) -> list[TimelineEntry]:
    """A ``batch_get_traces`` trace as spans in start order, with nesting depth."""
    spans: list[tuple[dict[str, Any], str | None]] = []
    for segment in trace.get("Segments") or ():
        document = segment["Document"]
        _flatten(json.loads(document) if isinstance(document, str) else document, None, spans)
    if not spans:
        return []
    parents = {doc.get("id"): parent for doc, parent in spans}

    def depth(span_id: str | None) -> int:
        seen = 0
        while span_id in parents and parents[span_id] in parents and seen < 64:
            span_id = parents[span_id]
            seen += 1
        return seen

    origin = min(float(doc["start_time"]) for doc, _ in spans)
    entries = []
    for doc, _ in sorted(spans, key=lambda item: float(item[0]["start_time"])):
        start = float(doc["start_time"])
        end = doc.get("end_time")
        entries.append(
            TimelineEntry(
                name=str(doc.get("name", "?")),
                start_offset_ms=round((start - origin) * 1000, 3),
                duration_ms=round((float(end) - start) * 1000, 3) if end is not None else None,
                depth=depth(doc.get("id")),
                annotations=dict(doc.get("annotations") or {}),
                error=bool(doc.get("error") or doc.get("fault")),
            )
        )
    return entries
