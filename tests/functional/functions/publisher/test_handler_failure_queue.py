"""The publisher handler on moto: entries EventBridge keeps refusing, with accepted ones behind
them, are kept in the failure queue (within SQS's limits) instead of retried by Lambda."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from s3flow import contract
from s3flow.functions.publisher import handler as publish_handler
from s3flow.functions.shared.aws_api import JsonApiClient
from support.stream_records import TRACE, inserts, object_item, sequence, stream_record

from ..support import Aws
from .handler_support import (
    NO_FAILURES,
    PutEventsCalls,
    delivered_keys,
    invoke,
    object_key,
)


@pytest.fixture
def failure_queue(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> str:
    url = aws.sqs.create_queue(QueueName="publisher-failures")["QueueUrl"]
    monkeypatch.setenv(contract.ENV_PUBLISHER_FAILURE_QUEUE_URL, url)
    publish_handler.publisher_dependencies.cache_clear()
    return url


def queued(aws: Aws, url: str) -> list[dict[str, Any]]:
    messages = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_an_entry_failing_with_accepted_ones_behind_it_is_kept_not_retried(
    aws, failure_queue, put_events
) -> None:
    put_events.fail = lambda key, call: key == "batch/file-4.csv"  # refused on every try

    response = invoke(*inserts(15))

    # A retry from file-4 would send 5..9 again: the batch is finished instead (10..14 too)
    # and file-4's entry itself waits in the failure queue for `s3flow redrive`.
    assert response == NO_FAILURES
    assert delivered_keys(aws) == sorted(f"batch/file-{i}.csv" for i in range(15) if i != 4)
    [message] = queued(aws, failure_queue)
    kept = message[contract.UNPUBLISHED_EVENT_MESSAGE]
    assert kept["sequenceNumber"] == sequence(4) and kept["errorCode"] == "InternalFailure"
    assert json.loads(kept["entry"]["Detail"])["objectKey"] == "batch/file-4.csv"
    assert kept["entry"]["EventBusName"] and kept["entry"]["TraceHeader"] == TRACE


def test_only_entries_failing_at_the_front_are_retried_by_lambda_as_before(
    aws, failure_queue, put_events
) -> None:
    put_events.fail = lambda key, call: key in {"batch/file-8.csv", "batch/file-9.csv"}

    response = invoke(*inserts(10))

    # Nothing was accepted behind file-8: Lambda's retry from it duplicates nothing.
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(8)}]}
    assert queued(aws, failure_queue) == []


def test_when_the_failure_queue_refuses_too_lambda_retries_the_batch(aws, put_events, monkeypatch) -> None:
    monkeypatch.setenv(contract.ENV_PUBLISHER_FAILURE_QUEUE_URL, "https://sqs.us-east-1.amazonaws.com/1/none")
    publish_handler.publisher_dependencies.cache_clear()
    put_events.install(publish_handler.publisher_dependencies().events, monkeypatch)
    put_events.fail = lambda key, call: key == "batch/file-4.csv"

    response = invoke(*inserts(10))  # file-4 would be kept, but the queue refuses it

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(4)}]}  # nothing lost


def queued_all(aws: Aws, url: str) -> list[dict[str, Any]]:
    """Every message in the queue (each received once: it stays invisible for the test's length)."""
    bodies: list[dict[str, Any]] = []
    while batch := queued(aws, url):
        bodies.extend(batch)
    return bodies


def kept_keys(bodies: list[dict[str, Any]]) -> list[str]:
    return sorted(object_key(body[contract.UNPUBLISHED_EVENT_MESSAGE]["entry"]) for body in bodies)


def big_inserts(count: int, detail_bytes: int) -> list[dict[str, Any]]:
    """Inserts whose entries are about ``detail_bytes`` each (a step's large report)."""
    report = {contract.STEPS_ATTRIBUTE: {"scan": {"report": "x" * detail_bytes}}}
    return [
        stream_record("INSERT", i, new={**object_item(f"batch/file-{i}.csv"), **report}) for i in range(count)
    ]


@dataclass
class SendMessageBatchCalls:
    """The publisher's SendMessageBatch calls; ``refuse(key, call)`` true makes SQS refuse that entry.

    A refused entry is not sent to moto; the response lists it under ``Failed`` with
    ``SenderFault`` false, as SQS reports an entry it could not take this time.
    """

    refuse: Callable[[str, int], bool] = lambda key, call: False  # noqa: E731
    entries: list[list[dict[str, Any]]] = field(default_factory=list)

    def install(self, client: JsonApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
        def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
            self.entries.append(list(params["Entries"]))
            number = len(self.entries)
            refused = [e for e in params["Entries"] if self.refuse(self.key(e), number)]
            sent = [e for e in params["Entries"] if e not in refused]
            response = type(client).call(client, operation, {**params, "Entries": sent}) if sent else {}
            failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"}
                      for e in refused]  # fmt: skip
            return {"Successful": response.get("Successful", []), "Failed": failed}

        monkeypatch.setattr(client, "call", call)

    @staticmethod
    def key(entry: dict[str, Any]) -> str:
        return object_key(json.loads(entry["MessageBody"])[contract.UNPUBLISHED_EVENT_MESSAGE]["entry"])

    def keys(self) -> list[list[str]]:
        return [[self.key(entry) for entry in call] for call in self.entries]


@pytest.fixture
def send_message_batch(
    failure_queue: str, put_events: PutEventsCalls, monkeypatch: pytest.MonkeyPatch
) -> SendMessageBatchCalls:
    calls = SendMessageBatchCalls()
    calls.install(publish_handler.publisher_dependencies().sqs(), monkeypatch)
    return calls


def test_kept_entries_go_to_the_queue_in_calls_within_sqss_size_and_count_limits(
    aws, failure_queue, put_events, send_message_batch
) -> None:
    # Entries of ~120 KB, two per PutEvents request; every other one refused on every try:
    # well over 1 MiB of kept entries, which one SendMessageBatch call cannot take.
    put_events.fail = lambda key, call: int(key.split("-")[1].split(".")[0]) % 2 == 0
    batch = big_inserts(20, 120_000)

    response = invoke(*batch)

    assert response == NO_FAILURES
    published = delivered_keys(aws)
    bodies = queued_all(aws, failure_queue)
    assert kept_keys(bodies) == sorted(f"batch/file-{i}.csv" for i in range(20) if f"batch/file-{i}.csv"
                                       not in published)  # fmt: skip
    assert sum(len(json.dumps(body)) for body in bodies) > 1_048_576
    assert len(send_message_batch.entries) > 1
    for call in send_message_batch.entries:
        assert len(call) <= 10
        assert sum(len(entry["MessageBody"].encode()) for entry in call) <= 1_048_576


def test_an_entry_the_queue_refuses_once_is_sent_again_alone(
    aws, failure_queue, put_events, send_message_batch, sleeps
) -> None:
    put_events.fail = lambda key, call: key in {"batch/file-4.csv", "batch/file-6.csv"}
    send_message_batch.refuse = lambda key, call: key == "batch/file-6.csv" and call == 1

    response = invoke(*inserts(15))

    assert response == NO_FAILURES
    assert send_message_batch.keys() == [["batch/file-4.csv", "batch/file-6.csv"], ["batch/file-6.csv"]]
    assert kept_keys(queued_all(aws, failure_queue)) == ["batch/file-4.csv", "batch/file-6.csv"]


def test_after_the_queue_took_some_kept_entries_a_retry_sends_and_keeps_nothing_twice(
    aws, failure_queue, put_events, send_message_batch
) -> None:
    # GIVEN file-4 and file-6 refused by EventBridge with accepted ones behind them, and the
    # queue taking file-4's entry but refusing file-6's on every try
    put_events.fail = lambda key, call: key in {"batch/file-4.csv", "batch/file-6.csv"}
    send_message_batch.refuse = lambda key, call: key == "batch/file-6.csv"
    batch = inserts(15)

    first = invoke(*batch)

    # THEN Lambda is told to retry from file-6, the one entry nowhere yet, not from file-4
    assert first == {"batchItemFailures": [{"itemIdentifier": sequence(6)}]}
    assert kept_keys(queued_all(aws, failure_queue)) == ["batch/file-4.csv"]
    # WHEN Lambda retries from file-6 and both services have recovered
    put_events.fail = lambda key, call: False
    send_message_batch.refuse = lambda key, call: False
    published_before = len(put_events.entries)

    second = invoke(*batch[6:])

    # THEN only file-6 is sent: the records behind it were published or kept the first time
    assert second == NO_FAILURES
    assert [object_key(entry) for call in put_events.entries[published_before:] for entry in call] == [
        "batch/file-6.csv"
    ]
    assert delivered_keys(aws) == sorted(f"batch/file-{i}.csv" for i in range(15) if i != 4)  # once each
    assert queued_all(aws, failure_queue) == []  # file-4's entry, received above, is the only one kept
