"""DynamoDB stream -> Lambda event source mapping, locally: the batching window."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
import requests

from s3flow.local.cloudformation import TemplateError, provision_template
from s3flow.local.event_sources.dynamodb_stream import MotoStreamReader, StreamRecord
from s3flow.local.server import LocalServer

from .stream_support import ACCOUNT, REGION, Stream, keys, mapping_template


class FrozenClock:
    """The poller's clock, moved only by the test: a window ends when the test says so."""

    def __init__(self) -> None:
        self.now = time.time()  # before any record the test writes arrives

    def __call__(self) -> float:
        return self.now

    def pass_window(self, seconds: float) -> None:
        """Past the window of every record written so far."""
        self.now = time.time() + seconds


class WatchedReader(MotoStreamReader):
    """Counts the records the poller has read, so a test can act once they are read."""

    def __init__(self) -> None:
        super().__init__(ACCOUNT, REGION)
        self.count = 0
        self.changed = threading.Condition()

    def read(self, stream_arn: str, shard_id: str, after: int | None, limit: int) -> list[StreamRecord]:
        records = super().read(stream_arn, shard_id, after, limit)
        with self.changed:
            self.count += len(records)
            self.changed.notify_all()
        return records

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.count >= count, timeout=30), f"{self.count} read"


def wait_for_calls(stream: Stream, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while len(stream.calls()) < count:
        assert time.monotonic() < deadline, f"{len(stream.calls())} invocations, not {count}"
        time.sleep(0.02)
    return stream.calls()


def test_records_written_within_the_window_reach_the_function_in_one_invocation(stream: Stream):
    clock, reader = FrozenClock(), WatchedReader()
    poller = stream.poller(maximum_batching_window_seconds=1, clock=clock, reader=reader)

    stream.put("a")
    reader.wait_for(1)  # "a" is read: its window is open
    stream.put("b", "c")
    reader.wait_for(3)
    assert stream.calls() == []  # the window is still open and the batch not full
    clock.pass_window(1)
    stream.wait(poller)

    assert keys(stream.calls()) == [["a", "b", "c"]]


def test_without_a_window_each_record_goes_at_once(stream: Stream):
    # The frozen clock would hold any window open: with 0 there is none to wait for.
    poller = stream.poller(maximum_batching_window_seconds=0, clock=FrozenClock())

    stream.put("a")
    stream.wait(poller)
    stream.put("b")
    stream.wait(poller)

    assert keys(stream.calls()) == [["a"], ["b"]]


def test_a_full_batch_and_the_retry_of_a_failed_one_do_not_wait_for_the_window(stream: Stream):
    clock = FrozenClock()
    stream.put("a", "b", "c")
    poller = stream.poller(
        {"FAIL_TIMES": "1", "REPORT_KEY": "b"},
        batch_size=2,
        report_batch_item_failures=True,
        maximum_batching_window_seconds=300,
        clock=clock,
    )

    # [a, b] fills a batch; b alone is retried; only "c", short of a batch, waits for its window.
    assert keys(wait_for_calls(stream, 2)) == [["a", "b"], ["b"]]
    assert not poller.idle()
    clock.pass_window(300)
    stream.wait(poller)
    assert keys(stream.calls()) == [["a", "b"], ["b"], ["c"]]
    assert stream.failures() == []


def test_stopping_during_a_window_returns_at_once_and_leaves_the_records_unread(stream: Stream):
    reader = WatchedReader()
    poller = stream.poller(maximum_batching_window_seconds=300, clock=FrozenClock(), reader=reader)
    stream.put("a")
    reader.wait_for(1)

    poller.stop(timeout=5)  # the window has 300 s to go

    assert not poller.running
    assert stream.calls() == [] and stream.failures() == []
    assert not poller.idle()  # not checkpointed: the next poller delivers "a"


def test_a_mapping_batching_window_is_resolved(server: LocalServer):
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    template = mapping_template({"Fn::GetAtt": ["Table", "StreamArn"]}, MaximumBatchingWindowInSeconds=5)

    deployment = provision_template(template, "Streams", endpoint_url=server.endpoint_url)

    (mapping,) = deployment.stream_mappings
    assert mapping.maximum_batching_window_seconds == 5


@pytest.mark.parametrize("window", [301, -1, 1.5, "soon"])
def test_a_batching_window_lambda_rejects_fails_provisioning(server: LocalServer, window: Any):
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    template = mapping_template({"Fn::GetAtt": ["Table", "StreamArn"]}, MaximumBatchingWindowInSeconds=window)

    with pytest.raises(TemplateError, match=re.escape(f"Mapping: MaximumBatchingWindowInSeconds {window!r}")):
        provision_template(template, "Streams", endpoint_url=server.endpoint_url)
