"""The local trace store (X-Ray daemon protocol -> moto's X-Ray) and trace timelines."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import boto3
import pytest

from s3flow.local.server import LocalServer
from s3flow.local.xray import TraceStore, parse_datagram, timeline

HEADER = b'{"format": "json", "version": 1}\n'
TRACE_ID = f"1-{int(time.time()):08x}-0123456789abcdef01234567"


def segment(**fields: Any) -> dict[str, Any]:
    return {"trace_id": TRACE_ID, "start_time": 100.0, "end_time": 101.0, **fields}


def test_a_daemon_datagram_holds_one_document():
    document = segment(id="a" * 16, name="fn")

    assert parse_datagram(HEADER + json.dumps(document).encode()) == document
    assert parse_datagram(json.dumps(document).encode()) is None  # no header line
    assert parse_datagram(b'{"format": "binary"}\n{}') is None
    assert parse_datagram(HEADER + b"not json") is None


def test_segments_sent_to_the_daemon_address_are_readable_with_batch_get_traces():
    server = LocalServer(port=0)
    server.start()
    store = TraceStore(endpoint_url=server.endpoint_url, region="us-east-1")
    store.start()
    now = time.time()
    function = segment(id="1" * 16, name="processor", start_time=now, end_time=now + 0.5)
    child = segment(
        id="2" * 16,
        name="dynamodb_write",
        type="subsegment",
        parent_id="1" * 16,
        start_time=now + 0.1,
        end_time=now + 0.2,
    )
    try:
        host, port = store.address.split(":")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for document in (function, child):
                sender.sendto(HEADER + json.dumps(document).encode(), (host, int(port)))
        xray = boto3.client("xray", endpoint_url=server.endpoint_url, region_name="us-east-1")
        deadline = time.monotonic() + 10
        traces: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            traces = xray.batch_get_traces(TraceIds=[TRACE_ID])["Traces"]
            if traces and len(traces[0]["Segments"]) == 2:
                break
            time.sleep(0.05)
    finally:
        store.stop()
        server.stop()

    (trace,) = traces
    assert {json.loads(s["Document"])["name"] for s in trace["Segments"]} == {"processor", "dynamodb_write"}


def test_a_timeline_orders_spans_and_nests_them_under_their_parents():
    trace = {
        "Id": TRACE_ID,
        "Segments": [
            {
                "Id": "x",
                "Document": json.dumps(
                    segment(
                        id="s2",
                        parent_id="s1",
                        name="publish",
                        start_time=100.5,
                        end_time=100.75,
                        annotations={"key": "a b"},
                    )
                ),
            },  # fmt: skip
            {
                "Id": "y",
                "Document": json.dumps(
                    segment(
                        id="s1",
                        name="processor",
                        subsegments=[
                            segment(id="s3", name="write", start_time=100.25, end_time=100.5, error=True)
                        ],
                    )
                ),
            },
        ],
    }

    entries = timeline(trace)

    assert [(e.name, e.depth) for e in entries] == [("processor", 0), ("write", 1), ("publish", 1)]
    assert [e.start_offset_ms for e in entries] == [0.0, 250.0, 500.0]
    assert [e.duration_ms for e in entries] == [1000.0, 250.0, 250.0]
    assert entries[2].annotations == {"key": "a b"}
    assert entries[1].error and not entries[0].error


def test_a_span_in_progress_has_no_duration():
    in_progress = {
        "id": "s1",
        "name": "running",
        "trace_id": TRACE_ID,
        "start_time": 5.0,
        "in_progress": True,
    }

    (entry,) = timeline({"Segments": [{"Id": "s1", "Document": json.dumps(in_progress)}]})

    assert entry.duration_ms is None


@pytest.mark.parametrize("trace", [{"Segments": []}, {}])
def test_an_empty_trace_has_an_empty_timeline(trace):
    assert timeline(trace) == []


def test_the_store_is_pending_until_every_received_datagram_is_stored():
    server = LocalServer(port=0)
    server.start()
    entered, release = threading.Event(), threading.Event()

    def slow(document: dict[str, Any]) -> None:
        entered.set()
        release.wait(10)

    store = TraceStore(endpoint_url=server.endpoint_url, region="us-east-1", on_segment=slow)
    store.start()
    try:
        assert not store.pending()
        host, port = store.address.split(":")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(HEADER + json.dumps(segment(id="3" * 16, name="slow")).encode(), (host, int(port)))
        assert entered.wait(10)

        assert store.pending()
        release.set()
        deadline = time.monotonic() + 10
        while store.pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not store.pending()
    finally:
        release.set()
        store.stop()
        server.stop()
