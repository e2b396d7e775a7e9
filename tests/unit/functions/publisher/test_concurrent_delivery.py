"""``outbox.deliver`` with several chunks in flight: what is sent, kept back, reported failed,
and what Lambda is told, when a chunk in the middle of the window fails; the handler's bound."""

from __future__ import annotations

import contextvars
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import pytest

from s3flow import contract
from s3flow.functions.publisher import outbox
from s3flow.functions.publisher.delivery import PublishReport
from s3flow.functions.shared.errors import ConfigurationError
from s3flow.functions.shared.settings import PublisherSettings
from support.stream_records import inserts, object_item, sequence, step_error, stream_record

from .test_outbox import FakeSend, outgoing, planned


class InlineThreads(Executor):
    """Runs each call as it is submitted, in the caller's thread: every chunk ``deliver`` starts
    in a window is sent before it reads any answer, as if all had been in flight together."""

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the future, as a thread would
            future.set_exception(error)
        return future


def keys_of(entries: list[dict[str, Any]]) -> list[str]:
    return [json.loads(entry["Detail"])["objectKey"] for entry in entries]


def deliver_at_once(sent: list[outbox.Outgoing], send: Any, concurrency: int = 3, **options: Any) -> Any:
    threads = InlineThreads()
    delivery = outbox.deliver(
        [s.entry for s in sent], send, concurrency=concurrency, threads=lambda: threads, **options
    )
    return delivery, threads


def test_a_window_of_chunks_goes_out_before_any_answer_is_read_and_all_are_published() -> None:
    sent = outgoing(50)
    send = FakeSend()

    delivery, threads = deliver_at_once(sent, send)

    assert threads.submitted == 5
    assert [key for chunk in send.chunks for key in chunk] == [f"batch/file-{i}.csv" for i in range(50)]
    assert sorted(delivery.published) == list(range(50)) and delivery.failed == {} and delivery.calls == 5


def test_a_chunk_refused_in_the_middle_of_the_window_stops_later_chunks_not_its_neighbours() -> None:
    # GIVEN five chunks, three in flight at once, the second refused as a whole
    sent = outgoing(50)
    send = FakeSend(raise_on_call={2})

    delivery, _ = deliver_at_once(sent, send)

    # THEN the window's three chunks were each sent once; the two after it never started
    assert send.chunks == [[f"batch/file-{i}.csv" for i in range(start, start + 10)] for start in (0, 10, 20)]
    assert sorted(delivery.published) == [*range(10), *range(20, 30)]
    assert delivery.failed == {**dict.fromkeys(range(10, 20), "ThrottlingException"),
                               **dict.fromkeys(range(30, 50), outbox.NOT_ATTEMPTED)}  # fmt: skip
    # AND Lambda would be told the refused chunk's first record; the third chunk, accepted
    # behind it, is what the handler must not leave to that retry
    first = outbox.earliest_failure(sent, delivery.failed)
    assert outbox.batch_response(first) == {"batchItemFailures": [{"itemIdentifier": sequence(10)}]}
    assert outbox.accepted_behind(sent, delivery, first)


def test_an_entry_failing_inside_the_window_reports_its_own_position() -> None:
    sent = outgoing(50)
    send = FakeSend(fail={"batch/file-13.csv"})

    delivery, _ = deliver_at_once(sent, send)

    assert len(send.chunks) == 3
    assert sorted(delivery.published) == [*range(13), *range(14, 30)]
    assert delivery.failed == {13: "InternalFailure", **dict.fromkeys(range(30, 50), outbox.NOT_ATTEMPTED)}
    first = outbox.earliest_failure(sent, delivery.failed)
    assert first is not None and first.record.sequence_number == sequence(13)


def test_when_the_first_chunk_fails_the_earliest_failure_is_still_the_first_record() -> None:
    sent = outgoing(30)
    send = FakeSend(fail={"batch/file-0.csv", "batch/file-25.csv"})

    delivery, _ = deliver_at_once(sent, send)

    first = outbox.earliest_failure(sent, delivery.failed)
    assert first is not None and first.record.sequence_number == sequence(0)
    assert delivery.failed == {0: "InternalFailure", 25: "InternalFailure"}


def test_a_later_record_of_an_item_waits_for_the_call_holding_its_earlier_one() -> None:
    # GIVEN file-3's step error (chunk 1) and its success (chunk 2), and file-3's error refused
    item = object_item("batch/file-3.csv")
    raw = [*inserts(3), stream_record("INSERT", 3, new=step_error(item)), *inserts(6, start=4),
           stream_record("MODIFY", 10, new=item, old=step_error(item)), *inserts(15, start=11)]  # fmt: skip
    sent = planned(*raw).outgoing
    items = [json.dumps(s.record.keys, sort_keys=True) for s in sent]
    assert items[3] == items[10]

    failing = FakeSend(fail={"batch/file-3.csv"})
    delivery, _ = deliver_at_once(sent, failing, items=items)

    # THEN the chunk holding its success never started while the error's call was unanswered,
    # and after that call failed, no later chunk started at all
    assert failing.chunks == [keys_of([s.entry for s in sent[:10]])]
    assert delivery.failed[10] == outbox.NOT_ATTEMPTED
    # (without the items, the window sends all three chunks before reading an answer)
    unordered = FakeSend(fail={"batch/file-3.csv"})
    deliver_at_once(sent, unordered)
    assert len(unordered.chunks) == 3


def test_one_chunk_or_one_call_at_a_time_makes_no_threads() -> None:
    made: list[int] = []

    def threads() -> Executor:
        made.append(1)
        return InlineThreads()

    outbox.deliver([s.entry for s in outgoing(10)], FakeSend(), concurrency=5, threads=threads)
    outbox.deliver([s.entry for s in outgoing(30)], FakeSend(), concurrency=1, threads=threads)

    assert made == []


def test_a_send_that_raises_fails_the_delivery_after_its_window_was_sent() -> None:
    calls: list[list[str]] = []

    def send(entries: list[dict[str, Any]]) -> PublishReport:
        calls.append(keys_of(entries))
        if len(calls) == 2:
            raise ConfigurationError("no AWS credentials")
        return PublishReport(published=list(range(len(entries))), calls=1)

    with pytest.raises(ConfigurationError):
        deliver_at_once(outgoing(50), send)

    assert len(calls) == 3


# Real threads: the calls of a window overlap, in the caller's context

_invocation: contextvars.ContextVar[str] = contextvars.ContextVar("invocation", default="none")


def test_chunks_of_a_window_are_in_flight_together_on_threads_that_see_the_callers_context() -> None:
    # Three parties: the first three calls can only return once all three are in flight at
    # once. Sent one after the other, the barrier breaks (its timeout only ends a broken run).
    together = threading.Barrier(3, timeout=30)
    seen: list[tuple[str, str, bool]] = []
    lock = threading.Lock()

    def send(entries: list[dict[str, Any]]) -> PublishReport:
        first = keys_of(entries)[0]
        if first in {"batch/file-0.csv", "batch/file-10.csv", "batch/file-20.csv"}:
            together.wait()
        with lock:
            seen.append((first, _invocation.get(), threading.current_thread() is threading.main_thread()))
        return PublishReport(published=list(range(len(entries))), calls=1)

    _invocation.set("request-1")
    with ThreadPoolExecutor(max_workers=3) as threads:
        delivery = outbox.deliver(
            [s.entry for s in outgoing(40)], send, concurrency=3, threads=lambda: threads
        )

    assert sorted(delivery.published) == list(range(40)) and delivery.failed == {}
    assert sorted(first for first, _, _ in seen) == sorted(f"batch/file-{i}.csv" for i in (0, 10, 20, 30))
    assert {(context, on_main) for _, context, on_main in seen} == {("request-1", False)}


# The handler's bound


def test_concurrency_is_the_contracts_with_a_failure_queue_and_one_without() -> None:
    queue = {contract.ENV_PUBLISHER_FAILURE_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/f"}
    variable = contract.ENV_PUBLISHER_PUT_CONCURRENCY

    def concurrency(env: dict[str, str]) -> int:
        return PublisherSettings.from_env({contract.ENV_EVENT_BUS_NAME: "bus", **env}).put_concurrency

    assert concurrency(queue) == contract.PUBLISHER_PUT_CONCURRENCY
    assert concurrency({**queue, variable: "2"}) == 2
    # Without the queue nothing could keep an entry failing with others accepted behind it.
    assert concurrency({variable: "8"}) == 1
    for wrong in ("0", "11", "two", "-1"):
        with pytest.raises(ConfigurationError, match=variable):
            concurrency({**queue, variable: wrong})


def test_a_cold_start_imports_no_thread_pool() -> None:
    # The pool is made for the first batch of more than one chunk, not when the container starts.
    code = (
        "import sys\n"
        "from s3flow.functions.publisher import handler\n"
        "deps = handler.publisher_dependencies()\n"
        "assert deps.put_concurrency > 1, deps.put_concurrency\n"
        "print(sorted(name for name in sys.modules if name.startswith('concurrent')))\n"
    )
    environ = {
        **os.environ,
        contract.ENV_EVENT_BUS_NAME: "bus",
        contract.ENV_PUBLISHER_FAILURE_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/failures",
        "AWS_REGION": "us-east-1",
    }
    environ.pop(contract.ENV_PUBLISHER_PUT_CONCURRENCY, None)

    command = [sys.executable, "-c", code]
    done = subprocess.run(command, env=environ, capture_output=True, text=True, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
