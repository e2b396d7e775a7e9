"""The publisher handler on moto with its chunks in flight at once: a chunk refused in the middle
is kept in the failure queue, its neighbours published once; and the client gives each thread
its own kept-alive connection."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from s3flow import contract
from s3flow.functions.publisher import handler as publish_handler
from s3flow.functions.shared.aws_api import EVENTBRIDGE, JsonApiClient
from support.stream_records import inserts, sequence

from ..shared.aws_api.support import Reply, ScriptedServer, base_environ
from ..support import Aws
from .handler_support import NO_FAILURES, PutEventsCalls, delivered_keys, invoke, object_key


@pytest.fixture
def failure_queue(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> str:
    url = aws.sqs.create_queue(QueueName="publisher-failures")["QueueUrl"]
    monkeypatch.setenv(contract.ENV_PUBLISHER_FAILURE_QUEUE_URL, url)
    monkeypatch.setenv(contract.ENV_PUBLISHER_PUT_CONCURRENCY, "3")
    publish_handler.publisher_dependencies.cache_clear()
    return url


@pytest.fixture
def calls(failure_queue: str, put_events: PutEventsCalls, monkeypatch: pytest.MonkeyPatch) -> PutEventsCalls:
    """``put_events`` on the client of the dependencies the failure queue's settings made."""
    put_events.install(publish_handler.publisher_dependencies().events, monkeypatch)
    return put_events


def test_a_chunk_refused_while_its_neighbours_were_in_flight_is_kept_and_they_are_sent_once(
    aws, failure_queue, calls
) -> None:
    # GIVEN 30 records, three chunks in flight at once (each one's first call waits at the
    # barrier for the other two: sent one after the other, the barrier breaks and so does the
    # invocation), the middle one refused on every try
    together = threading.Barrier(3, timeout=30)
    firsts = {"batch/file-0.csv", "batch/file-10.csv", "batch/file-20.csv"}
    refused = {f"batch/file-{i}.csv" for i in range(10, 20)}
    lock = threading.Lock()

    def fail(key: str, call: int) -> bool:
        with lock:
            arrived = key in firsts
            firsts.discard(key)
        if arrived:
            together.wait()
        return key in refused

    calls.fail = fail

    response = invoke(*inserts(30))

    # THEN Lambda is told nothing to retry: a retry from file-10 would send file-20..29 again
    assert response == NO_FAILURES
    published = [f"batch/file-{i}.csv" for i in (*range(10), *range(20, 30))]
    assert delivered_keys(aws) == sorted(published)  # each once
    # AND no accepted entry was sent twice; only the refused ones went again (the adapter's tries)
    sent = [object_key(entry) for entries in calls.entries for entry in entries]
    assert {key: sent.count(key) for key in published} == dict.fromkeys(published, 1)
    assert {sent.count(key) for key in refused} == {4}
    # AND the refused chunk's entries wait in the failure queue, as entries, for `s3flow redrive`
    kept = []
    while messages := aws.sqs.receive_message(QueueUrl=failure_queue, MaxNumberOfMessages=10).get("Messages"):
        kept += [json.loads(m["Body"])[contract.UNPUBLISHED_EVENT_MESSAGE] for m in messages]
    assert sorted(object_key(message["entry"]) for message in kept) == sorted(refused)
    assert {message["errorCode"] for message in kept} == {"InternalFailure"}


def test_a_chunk_refused_with_nothing_accepted_behind_it_is_left_to_lambdas_retry(
    aws, failure_queue, calls
) -> None:
    # The last chunk fails: nothing behind it, so Lambda's retry from it duplicates nothing.
    calls.fail = lambda key, call: key == "batch/file-21.csv"

    response = invoke(*inserts(22))

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(21)}]}
    assert delivered_keys(aws) == sorted(f"batch/file-{i}.csv" for i in range(21))
    assert aws.sqs.receive_message(QueueUrl=failure_queue).get("Messages") is None


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    scripted.default = lambda request: Reply(200, request.body)
    yield scripted
    scripted.stop()


def test_a_client_with_a_connection_per_thread_keeps_one_per_thread_and_closes_them_all(
    server: ScriptedServer,
) -> None:
    client = JsonApiClient(EVENTBRIDGE, environ=base_environ(server.url), connection_per_thread=True)
    # Each thread calls twice while every other thread holds its connection open.
    first_calls = threading.Barrier(3, timeout=30)
    answers: dict[int, list[dict[str, Any]]] = {}

    def work(thread: int) -> None:
        answers[thread] = [client.call("PutEvents", {"thread": thread, "n": 0})]
        first_calls.wait()
        answers[thread].append(client.call("PutEvents", {"thread": thread, "n": 1}))

    threads = [threading.Thread(target=work, args=(thread,)) for thread in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    client.call("PutEvents", {"thread": "main", "n": 0})

    assert answers == {thread: [{"thread": thread, "n": n} for n in range(2)] for thread in range(3)}
    by_thread: dict[object, set[int]] = {}
    for request in server.received:
        by_thread.setdefault(json.loads(request.body)["thread"], set()).add(request.connection)
    assert all(len(connections) == 1 for connections in by_thread.values())  # kept alive in each
    assert len(set.union(*by_thread.values())) == 4  # one per thread, the main thread's new


PUBLISHER_TRACE = "Root=1-6759e988-00000000000000000000000c;Parent=63995c3f42cd8ada;Sampled=1"


def test_calls_made_on_the_threads_are_traced_under_publish_events(
    aws, failure_queue, calls, daemon, monkeypatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", PUBLISHER_TRACE)

    assert invoke(*inserts(30)) == NO_FAILURES

    received = daemon.documents()
    documents = [d for d in received if d["trace_id"] == "1-6759e988-00000000000000000000000c"]
    [publish] = [d for d in documents if d["name"] == "publish_events"]
    chunks = [d for d in documents if d["name"] == "EventBridge"]
    assert len(chunks) == 3 and {d["parent_id"] for d in chunks} == {publish["id"]}
    # and each event still shows in its object's own trace (the processor's)
    print(sorted({(d["name"], d["trace_id"]) for d in daemon.documents()}))
    assert sum(1 for d in received if d["name"] == "publish_event") == 30
