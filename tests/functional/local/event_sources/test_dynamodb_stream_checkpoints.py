"""DynamoDB stream -> Lambda event source mapping, locally: each record is taken once, whatever
a seeded script of invocations does (succeed, fail, report a failed record, never answer).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence
from typing import Any

import pytest

from s3flow.local.deployment import StreamMapping
from s3flow.local.event_sources.dynamodb_stream import MappingListener, MotoStreamReader, StreamPoller
from s3flow.local.lambda_.sandbox import Outcome

from .stream_support import ACCOUNT, FUNCTION_ARN, REGION, Stream


class ScriptedFunction:
    """The mapped function as a seeded script (no sandbox): each invocation succeeds, fails,
    reports one record as failed, or is never answered (the runtime's wait for it runs out,
    as when a sandbox cannot start). Notes every record handed again after a success took it."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.taken: list[str] = []
        self.taken_again: list[str] = []

    def __call__(self, function: str, event: dict[str, Any]) -> Outcome:
        seqs = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
        self.taken_again += [seq for seq in seqs if seq in self.taken]
        roll = self.random.random()
        if roll < 0.15:
            raise TimeoutError("the invocation was never answered")
        if roll < 0.3:
            return Outcome(False, {"errorType": "RuntimeError", "errorMessage": "on purpose"}, 0, 0)
        failed = self.random.randrange(len(seqs)) if roll < 0.55 else len(seqs)
        self.taken += seqs[:failed]
        failures = [{"itemIdentifier": seq} for seq in seqs[failed : failed + 1]]
        return Outcome(True, {"batchItemFailures": failures}, 0, 0)


class SettledRecords(MappingListener):
    """The sequence numbers the poller reports as taken, and as given up on."""

    def __init__(self) -> None:
        self.taken: list[str] = []
        self.given_up: list[str] = []

    def delivered(self, mapping: StreamMapping, records: Sequence[dict[str, Any]]) -> None:
        self.taken += [record["dynamodb"]["SequenceNumber"] for record in records]

    def discarded(
        self, mapping: StreamMapping, records: Sequence[dict[str, Any]], condition: str, detail: str
    ) -> None:
        self.given_up += [record["dynamodb"]["SequenceNumber"] for record in records]


def poll_as_the_poller_thread_does(poller: StreamPoller) -> None:
    with contextlib.suppress(TimeoutError):  # _run logs it and polls again
        poller.poll_once()


@pytest.mark.parametrize("seed", range(6))
def test_no_record_is_handed_again_once_an_invocation_took_it(stream: Stream, seed: int):
    # Lambda checkpoints what a successful invocation took and never delivers it again; a
    # retry starts at the first record not taken
    # (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html).
    script = random.Random(seed)
    function = ScriptedFunction(seed)
    settled = SettledRecords()
    mapping = StreamMapping(
        logical_id="Mapping",
        uuid="uuid-1",
        function_arn=FUNCTION_ARN,
        event_source_arn=stream.arn,
        starting_position="TRIM_HORIZON",
        batch_size=script.randint(1, 6),
        maximum_retry_attempts=script.choice([-1, 3]),
        bisect_batch_on_function_error=script.random() < 0.5,
        report_batch_item_failures=True,
    )
    poller = StreamPoller(
        mapping,
        invoke=function,
        reader=MotoStreamReader(ACCOUNT, REGION),
        send_to_queue=lambda queue, message: None,
        retry_delays=(0.0,),
        listener=settled,
    )
    written = 0
    for _ in range(25):
        count = script.randint(0, 6)
        stream.put(*(f"k{written + n}" for n in range(count)))
        written += count
        for _ in range(script.randint(0, 3)):
            poll_as_the_poller_thread_does(poller)
    for _ in range(10_000):
        if poller.idle():
            break
        poll_as_the_poller_thread_does(poller)

    in_stream = MotoStreamReader(ACCOUNT, REGION).read(stream.arn, "", None, written + 1)
    assert len(in_stream) == written
    assert function.taken_again == []
    assert settled.taken == function.taken
    assert sorted(settled.taken + settled.given_up, key=int) == [r.sequence_number for r in in_stream]
