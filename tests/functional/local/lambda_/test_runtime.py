"""The local async invoker: sandboxes, environment, retries, destination, Invoke API.

The handlers below run in the sandboxes: each sandbox is a fresh interpreter that imports
this module by name (the runtime passes the parent's ``sys.path`` on, as Lambda's
PYTHONPATH). The failure destination is a real SQS queue on a local moto server.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from s3flow.local.deployment import AsyncInvokeConfig, Deployment, FunctionSpec
from s3flow.local.errors import FunctionNotFoundError
from s3flow.local.lambda_.invocation import (
    CONDITION_EVENT_AGE_EXCEEDED,
    CONDITION_RETRIES_EXHAUSTED,
    Invocation,
    destination_record,
)
from s3flow.local.lambda_.runtime import LambdaRuntime, Listener
from s3flow.local.lambda_.sandbox import Outcome, StartHook
from s3flow.local.server import LocalServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE = "failures"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}"


# -- handlers run inside the sandboxes -------------------------------------------------


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "event": event,
        "environ": dict(os.environ),
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(),
        },
        "pid": os.getpid(),
    }


def fail(event: dict[str, Any], context: Any) -> None:
    raise ValueError(f"cannot process {event.get('name')}")


def die(event: dict[str, Any], context: Any) -> None:
    os._exit(3)


def sleep(event: dict[str, Any], context: Any) -> None:
    time.sleep(event["seconds"])


def shout(event: dict[str, Any], context: Any) -> None:
    print(f"hello from {context.function_name}", flush=True)


def echo_slowly(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(0.5)  # long enough for the second event to find the first sandbox busy
    return {"pid": os.getpid()}


def fail_when_faulty(event: dict[str, Any], context: Any) -> str:
    if os.environ.get("FAULT") == "1":
        raise RuntimeError("fault injected")
    return "fine"


# -- fixtures ---------------------------------------------------------------------------


def spec(handler: str, *, retries: int = 2, max_age: int = 21600, timeout: int = 30) -> FunctionSpec:
    name = f"fn-{handler}"
    return FunctionSpec(
        logical_id=name,
        name=name,
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        handler=f"{__name__}.{handler}",
        runtime="python3.13",
        timeout_seconds=timeout,
        memory_mb=256,
        environment={"TABLE": "records", "S3FLOW_ENVIRONMENT": "test"},
        tracing_active=True,
        async_config=AsyncInvokeConfig(
            maximum_retry_attempts=retries, maximum_event_age_seconds=max_age, on_failure_arn=QUEUE_ARN
        ),
    )


class Recorder(Listener):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def queued(self, invocation: Invocation) -> None:
        self.seen.append(("queued", invocation.request_id))

    def succeeded(self, invocation: Invocation, outcome: Outcome) -> None:
        self.seen.append(("succeeded", invocation.request_id))

    def retrying(self, invocation: Invocation, outcome: Outcome, delay: float) -> None:
        self.seen.append(("retrying", invocation.request_id))

    def failed(self, invocation: Invocation, condition: str) -> None:
        self.seen.append((condition, invocation.request_id))


@pytest.fixture
def sqs(server: LocalServer) -> Any:
    """An empty failure queue (the emulator is reset first)."""
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    client = boto3.client("sqs", endpoint_url=server.endpoint_url, region_name=REGION)
    client.create_queue(QueueName=QUEUE)
    return client


def make_runtime(
    server: LocalServer, *specs: FunctionSpec, concurrency: int = 1, **kwargs: Any
) -> LambdaRuntime:
    deployment = Deployment(stack_name="Test", region=REGION, account=ACCOUNT)
    deployment.functions = {s.name: s for s in specs}
    runtime = LambdaRuntime(
        deployment,
        endpoint_url=server.endpoint_url,
        retry_delays=(0.1, 0.2),
        concurrency=concurrency,
        **kwargs,
    )
    runtime.start()
    return runtime


@pytest.fixture
def runtimes(server: LocalServer) -> Iterator[list[LambdaRuntime]]:
    started: list[LambdaRuntime] = []
    yield started
    for runtime in started:
        runtime.stop()


def failures(sqs: Any) -> list[dict[str, Any]]:
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )
    return [json.loads(m["Body"]) for m in messages]


# -- tests ------------------------------------------------------------------------------


def test_the_sandbox_gets_the_function_environment_and_a_lambda_context(server, runtimes, monkeypatch):
    # GIVEN a variable in our own process that the function's template does not set
    monkeypatch.setenv("S3FLOW_CANARY", "leaked")
    runtime = make_runtime(server, spec("echo", timeout=30), xray_daemon_address="127.0.0.1:2999")
    runtimes.append(runtime)

    outcome = runtime.invoke("fn-echo", {"hello": "world"})

    assert outcome.ok
    result = outcome.payload
    environ = result["environ"]
    assert environ["TABLE"] == "records" and environ["S3FLOW_ENVIRONMENT"] == "test"
    assert environ["AWS_ENDPOINT_URL"] == server.endpoint_url
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == "fn-echo"
    assert environ["AWS_REGION"] == REGION
    assert environ["AWS_XRAY_DAEMON_ADDRESS"] == "127.0.0.1:2999"
    assert environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert "S3FLOW_CANARY" not in environ
    trace = dict(part.split("=", 1) for part in environ["_X_AMZN_TRACE_ID"].split(";"))
    assert trace["Root"].startswith("1-") and len(trace["Parent"]) == 16 and trace["Sampled"] == "1"
    context = result["context"]
    assert context["function_name"] == "fn-echo"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"].endswith(":function:fn-echo")
    assert context["memory_limit_in_mb"] == 256
    assert 0 < context["remaining"] <= 30_000
    assert result["event"] == {"hello": "world"}


def test_sandboxes_are_reused_between_invocations(server, runtimes):
    runtime = make_runtime(server, spec("echo"))
    runtimes.append(runtime)

    first = runtime.invoke("fn-echo", {})
    second = runtime.invoke("fn-echo", {})

    assert first.payload["pid"] == second.payload["pid"]
    assert first.payload["context"]["aws_request_id"] != second.payload["context"]["aws_request_id"]


def test_a_failing_event_is_retried_then_sent_to_the_failure_queue_with_the_original_event(
    server, runtimes, sqs
):
    recorder = Recorder()
    runtime = make_runtime(server, spec("fail", retries=2), listener=recorder)
    runtimes.append(runtime)
    event = {"name": "bad.txt", "Records": []}

    invocation = runtime.enqueue("fn-fail", event)
    assert runtime.wait_idle(60)

    assert [kind for kind, _ in recorder.seen] == [
        "queued",
        "retrying",
        "retrying",
        CONDITION_RETRIES_EXHAUSTED,
    ]
    (record,) = failures(sqs)
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": invocation.request_id,
        "functionArn": f"{invocation.function.arn}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == event
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "cannot process bad.txt"


def test_a_sandbox_that_dies_is_a_failed_attempt_and_is_replaced(server, runtimes, sqs):
    runtime = make_runtime(server, spec("die", retries=1))
    runtimes.append(runtime)

    runtime.enqueue("fn-die", {"n": 1})
    assert runtime.wait_idle(60)

    (record,) = failures(sqs)
    assert record["requestContext"]["approximateInvokeCount"] == 2  # the second attempt got a new sandbox
    assert record["responsePayload"]["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in record["responsePayload"]["errorMessage"]


def test_the_function_timeout_is_enforced(server, runtimes):
    runtime = make_runtime(server, spec("sleep", timeout=1))
    runtimes.append(runtime)

    outcome = runtime.invoke("fn-sleep", {"seconds": 30})

    assert not outcome.ok
    assert outcome.payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in outcome.payload["errorMessage"]


def test_no_retry_starts_once_the_event_is_older_than_the_maximum_age(server, runtimes, sqs):
    runtime = make_runtime(server, spec("fail", retries=2, max_age=1))
    runtime.retry_delays = (1.5,)
    runtimes.append(runtime)

    runtime.enqueue("fn-fail", {"name": "old"})
    assert runtime.wait_idle(60)

    (record,) = failures(sqs)
    assert record["requestContext"]["condition"] == CONDITION_EVENT_AGE_EXCEEDED
    assert record["requestContext"]["approximateInvokeCount"] == 1


def test_an_environment_override_applies_from_the_next_attempt(server, runtimes):
    runtime = make_runtime(
        server, spec("fail_when_faulty"), environment_overrides={"fn-fail_when_faulty": {"FAULT": "1"}}
    )
    runtimes.append(runtime)

    assert not runtime.invoke("fn-fail_when_faulty", {}).ok
    runtime.override_environment("fn-fail_when_faulty", None)
    outcome = runtime.invoke("fn-fail_when_faulty", {})

    assert outcome.ok and outcome.payload == "fine"


def test_function_segments_name_the_parent_of_the_trace_header(server, runtimes):
    segments: list[dict[str, Any]] = []
    runtime = make_runtime(server, spec("echo"), on_segment=segments.append)
    runtimes.append(runtime)

    cold = runtime.invoke("fn-echo", {})
    runtime.invoke("fn-echo", {})

    header = dict(p.split("=", 1) for p in cold.payload["environ"]["_X_AMZN_TRACE_ID"].split(";"))
    first, second = segments
    assert first["id"] == header["Parent"] and first["trace_id"] == header["Root"]
    assert first["origin"] == "AWS::Lambda::Function" and first["name"] == "fn-echo"
    # a cold start shows its init phase before the invocation; a warm one does not
    init, invocation = first["subsegments"]
    assert (init["name"], invocation["name"]) == ("Initialization", "Invocation")
    assert first["start_time"] == init["start_time"] <= init["end_time"] <= invocation["start_time"]
    assert [sub["name"] for sub in second["subsegments"]] == ["Invocation"]


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


def test_a_destination_record_without_any_attempt_has_no_response():
    invocation = Invocation(function=spec("fail"), event={"e": 1})

    record = destination_record(invocation, CONDITION_EVENT_AGE_EXCEEDED)

    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record and "responsePayload" not in record
    assert record["timestamp"].endswith("Z")


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


def test_stopping_cuts_running_invocations_short_without_retry_or_destination(server, runtimes, sqs):
    recorder = Recorder()
    runtime = make_runtime(server, spec("sleep"), listener=recorder)

    runtime.enqueue("fn-sleep", {"seconds": 60})
    runtime.stop()  # while its sandbox starts or runs the handler

    assert [kind for kind, _ in recorder.seen] == ["queued"]
    assert failures(sqs) == []


def test_workers_are_out_of_reach_of_the_terminals_ctrl_c(server, runtimes):
    # Ctrl-C signals the terminal's foreground process group: only the runtime's process
    # may get it (it stops the workers itself); a worker hit mid-invocation would fail it.
    runtime = make_runtime(server, spec("echo"))
    runtimes.append(runtime)

    outcome = runtime.invoke("fn-echo", {})

    assert outcome.ok
    assert os.getpgid(outcome.payload["pid"]) != os.getpgrp()


def test_a_worker_pipe_breaking_as_the_runtime_stops_is_not_reported_as_an_error(
    server, runtimes, monkeypatch, caplog
):
    runtime = make_runtime(server, spec("sleep"))
    queue = runtime._queues["fn-sleep"]
    attempting = threading.Event()

    def attempt_cut_short_by_stop(invocation: Invocation, sandbox: Any) -> Outcome:
        attempting.set()
        while not queue.stopping:
            time.sleep(0.01)
        raise ConnectionResetError("the worker's end of the pipe closed")  # as stop() kills it

    monkeypatch.setattr(runtime, "attempt", attempt_cut_short_by_stop)
    runtime.enqueue("fn-sleep", {"seconds": 0})
    assert attempting.wait(60)

    with caplog.at_level(logging.INFO, logger="s3flow.local"):
        runtime.stop()

    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


def test_the_runtime_knows_which_accepted_events_it_had_not_finished_when_stopped(server, runtimes, sqs):
    recorder = Recorder()
    runtime = make_runtime(server, spec("echo"), spec("sleep"), listener=recorder)
    runtimes.append(runtime)
    done = runtime.enqueue("fn-echo", {"n": 1})
    assert runtime.wait_idle(60)
    running = runtime.enqueue("fn-sleep", {"seconds": 60})  # cut short by stop
    waiting = runtime.enqueue("fn-sleep", {"seconds": 60})  # still queued behind it

    runtime.stop()

    unfinished = {invocation.request_id for invocation in runtime.unfinished()}
    assert unfinished == {running.request_id, waiting.request_id}
    assert done.request_id not in unfinished


def mark_sandbox(argument: str) -> None:
    """A sandbox start hook: runs in the worker before the handler is imported."""
    os.environ["STARTED_WITH"] = argument


def test_a_sandbox_start_hook_runs_in_new_sandboxes_without_changing_the_function_environment(
    server, runtimes
):
    runtime = make_runtime(server, spec("echo"))
    runtimes.append(runtime)
    before = runtime.invoke("fn-echo", {}).payload

    runtime.set_sandbox_start_hook("fn-echo", StartHook(f"{__name__}:mark_sandbox", "hooked"))
    hooked = runtime.invoke("fn-echo", {}).payload
    runtime.set_sandbox_start_hook("fn-echo", None)
    after = runtime.invoke("fn-echo", {}).payload

    assert hooked["environ"]["STARTED_WITH"] == "hooked"
    assert "STARTED_WITH" not in before["environ"] and "STARTED_WITH" not in after["environ"]
    assert len({before["pid"], hooked["pid"], after["pid"]}) == 3  # each change: new sandboxes


def test_added_listeners_hear_of_every_invocation_until_removed(server, runtimes):
    first, added = Recorder(), Recorder()
    runtime = make_runtime(server, spec("echo"), listener=first)
    runtimes.append(runtime)

    runtime.add_listener(added)
    heard = runtime.enqueue("fn-echo", {}).request_id
    assert runtime.wait_idle(30)
    runtime.remove_listener(added)
    unheard = runtime.enqueue("fn-echo", {}).request_id
    assert runtime.wait_idle(30)

    assert added.seen == [("queued", heard), ("succeeded", heard)]
    assert first.seen == added.seen + [("queued", unheard), ("succeeded", unheard)]


# A NUL byte cannot be put in a process environment: the worker process is never started.
UNSTARTABLE = {"BROKEN": "a\x00b"}


def test_a_sandbox_that_cannot_start_fails_a_synchronous_invocation_at_once(server, runtimes):
    runtime = make_runtime(server, spec("echo"), environment_overrides={"fn-echo": UNSTARTABLE})
    runtimes.append(runtime)

    # the bound only turns the old hang (timeout_seconds + 60) into a failure
    outcome = runtime.invoke("fn-echo", {}, timeout=20)

    assert not outcome.ok
    assert outcome.payload["errorType"] == "Runtime.ExitError"
    assert outcome.payload["requestId"] and "embedded null byte" in outcome.payload["errorMessage"]


def test_a_sandbox_that_cannot_start_is_a_failed_async_attempt_retried_then_sent_to_the_destination(
    server, runtimes, sqs
):
    recorder = Recorder()
    runtime = make_runtime(
        server, spec("echo", retries=1), listener=recorder, environment_overrides={"fn-echo": UNSTARTABLE}
    )
    runtimes.append(runtime)

    invocation = runtime.enqueue("fn-echo", {"name": "never-run"})
    assert runtime.wait_idle(60)

    assert [kind for kind, _ in recorder.seen] == ["queued", "retrying", CONDITION_RETRIES_EXHAUSTED]
    assert runtime.unfinished() == []
    (record,) = failures(sqs)
    assert record["requestContext"]["requestId"] == invocation.request_id
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"]["errorType"] == "Runtime.ExitError"
    assert record["requestPayload"] == {"name": "never-run"}
