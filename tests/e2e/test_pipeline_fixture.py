"""The whole pipeline through the plugin's ``s3flow_pipeline`` fixture, as a team's tests drive
it: one pipeline for this module, each test seeing only the object versions it uploaded."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from s3flow.testing.faults.proxy import throttling

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def s3flow_pipeline_options() -> dict[str, Any]:
    # One client attempt per invocation: a throttled write fails the invocation at once, and
    # Lambda's (fast) retries, not botocore's backoff, decide when it reaches the failure queue.
    return {"environment_overrides": {"s3-object-processor-dev": {"AWS_MAX_ATTEMPTS": "1"}}}


def test_an_upload_is_recorded_and_its_event_reaches_the_log_group(s3flow_pipeline):
    key = "incoming/my file+x é.txt"

    version = s3flow_pipeline.upload(key, b"hello")
    s3flow_pipeline.wait()

    (record,) = s3flow_pipeline.records(key)
    assert record["versionId"] == version
    assert record["size"] == 5
    assert record["status"] == "SUCCESS"
    (event,) = s3flow_pipeline.events(key)
    assert event["versionId"] == version and event["status"] == "SUCCESS"
    # The publisher may announce the record before the processor's invocation has returned.
    first, *then = s3flow_pipeline.kinds(key)
    assert first == "received" and sorted(then) == ["published", "recorded", "routed"]
    assert s3flow_pipeline.failures() == []


def test_a_duplicate_delivery_makes_one_record_and_one_event(s3flow_pipeline):
    key = "dup/once.txt"
    s3flow_pipeline.upload(key, b"same")
    s3flow_pipeline.wait()
    # S3 delivers at least once: the very record S3 sent, again, twice, through Lambda's Invoke API
    (event,) = [flow.payload for flow in s3flow_pipeline.flows(key) if str(flow.kind) == "received"]
    lam = s3flow_pipeline.client("lambda")
    for _ in range(2):
        answer = lam.invoke(
            FunctionName=s3flow_pipeline.outputs["LambdaFunctionName"],
            InvocationType="Event",
            Payload=json.dumps(event),
        )
        assert answer["StatusCode"] == 202
    s3flow_pipeline.wait()

    assert len(s3flow_pipeline.records(key)) == 1
    assert len(s3flow_pipeline.events(key)) == 1
    assert s3flow_pipeline.kinds(key).count("recorded") == 3


def test_a_write_that_never_succeeds_leaves_the_object_in_the_failure_queue(s3flow_pipeline):
    # GIVEN every PutItem of the processor throttled until the fault clears (at the test's end)
    fault = s3flow_pipeline.inject(throttling(seed=1, rate=1.0, failures={"PutItem": (10_000,)}))

    version = s3flow_pipeline.upload("stuck.txt", b"never written")
    s3flow_pipeline.wait()

    (failure,) = s3flow_pipeline.failures("stuck.txt")
    (record,) = failure["requestPayload"]["Records"]
    assert record["s3"]["object"]["versionId"] == version
    assert s3flow_pipeline.records("stuck.txt") == [] and fault.injected > 0


def test_the_invocation_is_traced(s3flow_pipeline):
    # The key the first test uploaded: this test sees its own version's record only.
    key = "incoming/my file+x é.txt"

    version = s3flow_pipeline.upload(key, b"t")
    s3flow_pipeline.wait()

    (record,) = s3flow_pipeline.records()
    assert record["versionId"] == version
    trace_id = dict(p.split("=", 1) for p in record["xrayTraceId"].split(";"))["Root"]
    xray = s3flow_pipeline.client("xray")

    def documents() -> list[dict[str, Any]]:
        traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        return [json.loads(segment["Document"]) for trace in traces for segment in trace["Segments"]]

    def under_function(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = {d["id"] for d in found if d.get("origin") == "AWS::Lambda::Function"}
        return [d for d in found if d.get("parent_id") in ids]

    # X-Ray is eventually consistent: spans arrive over UDP after the invocation returns
    deadline = time.monotonic() + 15
    found = documents()
    while time.monotonic() < deadline and not under_function(found):
        time.sleep(0.1)
        found = documents()
    # the function segment the runtime emits, as Lambda does with active tracing
    (function,) = [d for d in found if d.get("origin") == "AWS::Lambda::Function"]
    assert function["name"] == s3flow_pipeline.outputs["LambdaFunctionName"]
    # and the processor's own spans, sent to the daemon address, hang under it
    children = under_function(found)
    assert children and all(d["trace_id"] == trace_id for d in children)
