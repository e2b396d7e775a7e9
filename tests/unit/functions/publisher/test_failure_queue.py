"""Kept entries into the publisher's failure queue without AWS: SQS's limits, and what goes again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from s3flow.functions.publisher import failure_queue
from s3flow.functions.publisher.failure_queue import MAX_BATCH_BYTES, Message, batches, send
from s3flow.functions.shared.aws_api import ApiCallError
from s3flow.functions.shared.backoff import Backoff

URL = "https://sqs.us-east-1.amazonaws.com/123456789012/s3-event-publisher-failures-test"


def message(key: int, size: int = 10) -> Message:
    return Message(key, "x" * size)


@dataclass
class ScriptedQueue:
    """SendMessageBatch as SQS answers it: ``refuse(body, call)`` gives (Code, SenderFault) to refuse.

    ``fail_call(call)`` true makes the whole call raise, as the client does after its own retries.
    """

    refuse: Callable[[str, int], tuple[str, bool] | None] = lambda body, call: None  # noqa: E731
    fail_call: Callable[[int], bool] = lambda call: False  # noqa: E731
    omit: Callable[[str], bool] = lambda body: False  # noqa: E731
    calls: list[list[str]] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        assert (operation, params["QueueUrl"]) == ("SendMessageBatch", URL)
        entries = params["Entries"]
        assert len(entries) <= 10 and sum(len(e["MessageBody"].encode()) for e in entries) <= MAX_BATCH_BYTES
        self.calls.append([entry["MessageBody"] for entry in entries])
        if self.fail_call(len(self.calls)):
            raise ApiCallError(operation, "AccessDenied", "injected", 403)
        successful, failed = [], []
        for entry in entries:
            refusal = self.refuse(entry["MessageBody"], len(self.calls))
            if self.omit(entry["MessageBody"]):
                continue
            if refusal:
                code, sender_fault = refusal
                failed.append({"Id": entry["Id"], "Code": code, "SenderFault": sender_fault})
            else:
                self.queued.append(entry["MessageBody"])
                successful.append({"Id": entry["Id"], "MessageId": f"m-{len(self.queued)}"})
        return {"Successful": successful, "Failed": failed}


@dataclass(frozen=True)
class Sized(Message):
    """A message that says it is ``declared`` bytes long, without holding them."""

    declared: int = 0

    @property
    def size(self) -> int:
        return self.declared


def no_sleep() -> tuple[Backoff, list[float]]:
    pauses: list[float] = []
    return Backoff(attempts=4, sleep=pauses.append), pauses


@given(st.lists(st.integers(min_value=1, max_value=MAX_BATCH_BYTES), max_size=40))
def test_batches_keep_order_and_both_limits_and_leave_nothing_out(sizes: list[int]) -> None:
    messages = [Message(key, "") for key in range(len(sizes))]
    grouped = batches([Sized(m.key, m.body, sizes[m.key]) for m in messages])

    assert [m.key for batch in grouped for m in batch] == list(range(len(sizes)))
    for number, batch in enumerate(grouped):
        assert 1 <= len(batch) <= 10
        assert sum(m.size for m in batch) <= MAX_BATCH_BYTES
        if number + 1 < len(grouped):  # a batch closes only when the next message would not fit
            following = grouped[number + 1][0]
            assert len(batch) == 10 or sum(m.size for m in batch) + following.size > MAX_BATCH_BYTES


def test_ten_messages_of_300_kb_go_in_four_calls_of_three_and_one() -> None:
    queue = ScriptedQueue()
    messages = [Message(key, f"{key:03}" + "x" * 299_997) for key in range(10)]

    report = send(queue, URL, messages, backoff=no_sleep()[0])

    assert [len(call) for call in queue.calls] == [3, 3, 3, 1]
    assert report.queued == list(range(10)) and report.refused == {}
    assert len(queue.queued) == 10


def test_only_messages_sqs_refused_on_its_side_are_sent_again() -> None:
    backoff, pauses = no_sleep()
    once = ("InternalError", False)
    queue = ScriptedQueue(refuse=lambda body, call: once if (body, call) == ("b", 1) else None)

    report = send(queue, URL, [Message(0, "a"), Message(1, "b"), Message(2, "c")], backoff=backoff)

    assert queue.calls == [["a", "b", "c"], ["b"]]
    assert sorted(queue.queued) == ["a", "b", "c"]  # each once
    assert sorted(report.queued) == [0, 1, 2] and report.refused == {}
    assert len(pauses) == 1


def test_a_message_refused_for_the_senders_fault_is_not_sent_again() -> None:
    queue = ScriptedQueue(refuse=lambda body, call: ("InvalidMessageContents", True) if body == "b" else None)

    report = send(queue, URL, [Message(0, "a"), Message(1, "b")], backoff=no_sleep()[0])

    assert queue.calls == [["a", "b"]]
    assert report.queued == [0] and report.refused == {1: "InvalidMessageContents"}


def test_a_message_refused_every_time_is_reported_after_the_last_attempt() -> None:
    backoff, pauses = no_sleep()
    throttled = ("KMS.ThrottlingException", False)
    queue = ScriptedQueue(refuse=lambda body, call: throttled if body == "b" else None)

    report = send(queue, URL, [Message(0, "a"), Message(1, "b")], backoff=backoff)

    assert queue.calls == [["a", "b"], ["b"], ["b"], ["b"]]
    assert report.queued == [0] and report.refused == {1: "KMS.ThrottlingException"}
    assert len(pauses) == 3


def test_a_call_failing_whole_stops_there_and_what_went_before_stays_queued() -> None:
    queue = ScriptedQueue(fail_call=lambda call: call == 2)
    messages = [message(key, 400_000) for key in range(6)]  # two per call

    report = send(queue, URL, messages, backoff=no_sleep()[0])

    assert len(queue.calls) == 2
    assert report.queued == [0, 1]
    assert report.refused == {2: "AccessDenied", 3: "AccessDenied", 4: failure_queue.NOT_ATTEMPTED,
                              5: failure_queue.NOT_ATTEMPTED}  # fmt: skip


def test_a_message_without_a_result_is_not_sent_again() -> None:
    # Neither taken nor refused: the queue may hold it already, so another send could double it.
    queue = ScriptedQueue(omit=lambda body: body == "b")

    report = send(queue, URL, [Message(0, "a"), Message(1, "b")], backoff=no_sleep()[0])

    assert queue.calls == [["a", "b"]]
    assert report.queued == [0] and report.refused == {1: failure_queue.MISSING_RESULT}


def test_a_message_over_sqss_limit_is_never_sent() -> None:
    queue = ScriptedQueue()
    too_long = Message(1, "x" * (failure_queue.MAX_MESSAGE_BYTES + 1))

    report = send(queue, URL, [Message(0, "a"), too_long], backoff=no_sleep()[0])

    assert queue.calls == [["a"]]
    assert report.queued == [0] and report.refused == {1: failure_queue.TOO_LONG}
