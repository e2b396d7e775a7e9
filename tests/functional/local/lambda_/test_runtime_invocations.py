"""The local async invoker: sandboxes, environment, retries, timeout, event age, the failure
destination and trace segments. The failure destination is a real SQS queue on a local
moto server.
"""

from __future__ import annotations

from typing import Any

from s3flow.local.lambda_.invocation import (
    CONDITION_EVENT_AGE_EXCEEDED,
    CONDITION_RETRIES_EXHAUSTED,
    Invocation,
    destination_record,
)

from .runtime_support import REGION, Recorder, failures, make_runtime, spec


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


def test_a_destination_record_without_any_attempt_has_no_response():
    invocation = Invocation(function=spec("fail"), event={"e": 1})

    record = destination_record(invocation, CONDITION_EVENT_AGE_EXCEEDED)

    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record and "responsePayload" not in record
    assert record["timestamp"].endswith("Z")
