"""The local runtime's Invoke API (payload limits), its function logs, and its concurrency."""

from __future__ import annotations

import dataclasses
import json
import time

import boto3
import pytest

from s3flow.local.deployment import Deployment
from s3flow.local.errors import FunctionNotFoundError
from s3flow.local.lambda_.invocation import Invocation
from s3flow.local.lambda_.runtime import LambdaRuntime, Listener
from s3flow.local.lambda_.sandbox import Outcome

from .runtime_support import ACCOUNT, REGION, failures, make_runtime, spec


def test_the_invoke_api_queues_event_invocations_and_runs_request_response(server, runtimes, sqs):
    runtime = make_runtime(server, spec("echo"), spec("fail", retries=0))
    runtimes.append(runtime)
    server.middleware.routes.append(runtime.route)
    try:
        client = boto3.client("lambda", endpoint_url=server.endpoint_url, region_name=REGION)

        queued = client.invoke(
            FunctionName="fn-fail", InvocationType="Event", Payload=json.dumps({"name": "x"})
        )
        answered = client.invoke(FunctionName="fn-echo", Payload=json.dumps({"a": 1}))
        failed = client.invoke(
            FunctionName=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn-fail", Payload=b"{}"
        )
        assert runtime.wait_idle(60)
    finally:
        server.middleware.routes.remove(runtime.route)

    assert queued["StatusCode"] == 202
    assert answered["StatusCode"] == 200
    assert json.loads(answered["Payload"].read())["event"] == {"a": 1}
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "ValueError"
    (record,) = failures(sqs)  # only the Event invocation reaches the destination
    assert record["requestPayload"] == {"name": "x"}


def test_the_invoke_api_enforces_lambdas_payload_limits(server, runtimes):
    runtime = make_runtime(server, spec("echo"))
    runtimes.append(runtime)
    server.middleware.routes.append(runtime.route)
    try:
        client = boto3.client("lambda", endpoint_url=server.endpoint_url, region_name=REGION)
        too_big_for_event = json.dumps({"x": "y" * (1024 * 1024)})
        with pytest.raises(client.exceptions.RequestTooLargeException) as raised:
            client.invoke(FunctionName="fn-echo", InvocationType="Event", Payload=too_big_for_event)
    finally:
        server.middleware.routes.remove(runtime.route)

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert runtime.idle()


def test_the_function_output_and_lambdas_report_lines_go_to_its_log_group(server, runtimes, sqs):
    # (the sqs fixture empties the emulator: no log group from an earlier test)
    runtime = make_runtime(server, spec("shout"))
    runtimes.append(runtime)

    runtime.invoke("fn-shout", {})

    logs = boto3.client("logs", endpoint_url=server.endpoint_url, region_name=REGION)
    deadline = time.monotonic() + 10
    messages: list[str] = []
    while time.monotonic() < deadline and not any("hello from fn-shout" in m for m in messages):
        time.sleep(0.05)
        messages = [
            e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/fn-shout")["events"]
        ]
    assert any(m == "hello from fn-shout" for m in messages)
    assert [m.split(" ")[0] for m in messages if m.split(" ")[0] in {"START", "END", "REPORT"}] == [
        "START",
        "END",
        "REPORT",
    ]
    assert "Init Duration" in next(m for m in messages if m.startswith("REPORT"))


def test_reserved_concurrency_caps_the_sandboxes():
    deployment = Deployment(stack_name="T", region=REGION, account=ACCOUNT)
    runtime = LambdaRuntime(deployment, endpoint_url="http://x", concurrency=4)
    capped = dataclasses.replace(spec("echo"), reserved_concurrency=2)

    assert runtime.slots_for(spec("echo")) == 4
    assert runtime.slots_for(capped) == 2


def test_unknown_functions_are_an_error():
    runtime = LambdaRuntime(
        Deployment(stack_name="T", region=REGION, account=ACCOUNT), endpoint_url="http://x"
    )
    with pytest.raises(FunctionNotFoundError):
        runtime.resolve("nope")


def test_concurrency_runs_queued_events_in_separate_sandboxes(server, runtimes):
    pids: list[int] = []

    class Pids(Listener):
        def succeeded(self, invocation: Invocation, outcome: Outcome) -> None:
            pids.append(outcome.payload["pid"])

    runtime = make_runtime(server, spec("echo_slowly"), listener=Pids(), concurrency=2)
    runtimes.append(runtime)

    for n in range(2):
        runtime.enqueue("fn-echo_slowly", {"n": n})
    assert runtime.wait_idle(60)

    assert len(pids) == 2 and len(set(pids)) == 2
