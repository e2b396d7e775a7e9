"""Lambda's limit on an asynchronous invocation's payload, 1 MB, on both ways into the local
runtime's queue: the Invoke API (``InvocationType=Event``: ``RequestTooLargeException``, 413)
and the runtime's ``enqueue`` (what the S3 hop calls), which refuses the event before it is
queued (docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html,
docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)."""

from __future__ import annotations

import json

import boto3
import pytest

from s3flow.local.errors import RequestTooLargeError
from s3flow.local.lambda_.invoke_api import MAX_EVENT_PAYLOAD

from .runtime_support import REGION, Recorder, make_runtime, spec


def event_of_size(size: int) -> dict[str, str]:
    """An event whose compact JSON is ``size`` bytes."""
    event = {"x": ""}
    event["x"] = "y" * (size - len(json.dumps(event, separators=(",", ":"))))
    return event


def test_an_event_is_measured_in_utf8_bytes_not_escaped(server, runtimes) -> None:
    runtime = make_runtime(server, spec("echo"))
    runtimes.append(runtime)
    # 400 KB of UTF-8 (2 bytes a character), 1.2 MB were each written as \u00e9
    under = {"x": "é" * 200_000}

    invocation = runtime.enqueue("fn-echo", under)

    assert runtime.wait_idle(60)
    assert invocation.attempts == 1


def test_async_payloads_are_limited_to_1_mb() -> None:
    assert MAX_EVENT_PAYLOAD == 1024 * 1024


def test_enqueue_refuses_an_event_over_the_limit_before_queueing_it(server, runtimes) -> None:
    recorder = Recorder()
    runtime = make_runtime(server, spec("echo"), listener=recorder)
    runtimes.append(runtime)

    with pytest.raises(RequestTooLargeError) as raised:
        runtime.enqueue("fn-echo", event_of_size(MAX_EVENT_PAYLOAD + 1))

    assert str(raised.value) == (
        f"the event is {MAX_EVENT_PAYLOAD + 1} bytes: asynchronous invocations of fn-echo"
        f" take at most {MAX_EVENT_PAYLOAD} (RequestTooLargeException)"
    )
    assert runtime.idle() and recorder.seen == []


def test_enqueue_takes_an_event_at_the_limit(server, runtimes) -> None:
    runtime = make_runtime(server, spec("echo"))
    runtimes.append(runtime)

    invocation = runtime.enqueue("fn-echo", event_of_size(MAX_EVENT_PAYLOAD))

    assert runtime.wait_idle(60)
    assert invocation.attempts == 1


def test_the_invoke_api_takes_an_event_payload_at_the_limit_and_refuses_one_byte_more(
    server, runtimes
) -> None:
    runtime = make_runtime(server, spec("echo"))
    runtimes.append(runtime)
    server.middleware.routes.append(runtime.route)
    try:
        client = boto3.client("lambda", endpoint_url=server.endpoint_url, region_name=REGION)
        at_limit = json.dumps(event_of_size(MAX_EVENT_PAYLOAD), separators=(",", ":"))
        accepted = client.invoke(FunctionName="fn-echo", InvocationType="Event", Payload=at_limit)
        with pytest.raises(client.exceptions.RequestTooLargeException) as raised:
            client.invoke(FunctionName="fn-echo", InvocationType="Event", Payload=at_limit + " ")
        assert runtime.wait_idle(60)
    finally:
        server.middleware.routes.remove(runtime.route)

    assert accepted["StatusCode"] == 202
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
