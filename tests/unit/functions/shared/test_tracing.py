"""Tracing without AWS: trace headers parsed, daemon addresses read, documents kept within one
datagram. Spans exported by a real invocation are in tests/functional/functions/shared."""

from __future__ import annotations

import json

import pytest

from s3flow.functions.shared.observability.trace_header import TraceHeader
from s3flow.functions.shared.observability.xray import daemon_address, daemon_packet
from support.functions import SAMPLED_TRACE_HEADER, TRACE_PARENT, TRACE_ROOT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SAMPLED_TRACE_HEADER, TraceHeader(TRACE_ROOT, TRACE_PARENT, True)),
        (f"Root={TRACE_ROOT};Sampled=1", TraceHeader(TRACE_ROOT, None, True)),
        (f"Root={TRACE_ROOT};Parent={TRACE_PARENT};Sampled=0", TraceHeader(TRACE_ROOT, TRACE_PARENT, False)),
        ("Root=1-zz;Parent=1;Sampled=1", None),
        (f"Root={TRACE_ROOT};Parent=xyz;Sampled=1", None),
        ("", None),
        (None, None),
    ],
)
def test_trace_header_parsing(value: str | None, expected: TraceHeader | None) -> None:
    assert TraceHeader.parse(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("169.254.79.129:2000", ("169.254.79.129", 2000)),
        ("tcp:127.0.0.1:2000 udp:127.0.0.2:2001", ("127.0.0.2", 2001)),
        ("", ("127.0.0.1", 2000)),
    ],
)
def test_daemon_address_forms(value: str, expected: tuple[str, int]) -> None:
    assert daemon_address(value) == expected


def test_oversized_documents_drop_metadata_to_fit_one_datagram() -> None:
    document = {"type": "subsegment", "name": "x", "metadata": {"default": {"big": "y" * 100_000}}}

    packet = daemon_packet(document)

    assert packet is not None and len(packet) < 65_000
    assert json.loads(packet.partition(b"\n")[2])["metadata"] == {"default": {"truncated": True}}
