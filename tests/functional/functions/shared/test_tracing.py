"""Tracing through the processor handler on moto: spans exported as X-Ray subsegment documents to a
UDP daemon (captured here)."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from s3flow.functions.shared.errors import RetryableProcessingError
from support.functions import SAMPLED_TRACE_HEADER, TABLE, TRACE_PARENT, TRACE_ROOT

from ..support import refuse_calls

HEX16 = re.compile(r"^[0-9a-f]{16}$")


def named(documents: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["name"] == name]



def test_sampled_invocation_exports_valid_subsegments_under_the_lambda_segment(
    aws, invoke, daemon, api_calls, monkeypatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED_TRACE_HEADER)

    invoke("s3_put_single")

    documents = daemon.documents()
    for document in documents:
        assert document["type"] == "subsegment"
        assert document["trace_id"] == TRACE_ROOT
        assert HEX16.match(document["id"]) and HEX16.match(document["parent_id"])
        assert isinstance(document["start_time"], float) and document["start_time"] <= document["end_time"]
        assert document["start_time"] > 1.7e9  # epoch seconds
    [root] = named(documents, "process_s3_records")
    assert root["parent_id"] == TRACE_PARENT
    assert root["annotations"] == {"requestId": "4b5c7d2e-0000-4000-8000-000000000001",
                                   "functionName": "s3-object-processor-test"}  # fmt: skip
    [write] = named(documents, "dynamodb_write")  # the one conditional put
    assert write["parent_id"] == root["id"]
    assert write["metadata"]["default"]["object.objectKey"] == "uploads/my file+x.txt"
    assert len(write["annotations"]["requestId"]) == 64
    [dynamodb_call] = named(documents, "DynamoDB")
    assert (dynamodb_call["namespace"], dynamodb_call["aws"]["operation"]) == ("aws", "PutItem")
    assert dynamodb_call["aws"]["table_name"] == TABLE and dynamodb_call["parent_id"] == write["id"]
    # The processor publishes nothing: no publish span, no EventBridge call.
    assert named(documents, "publish_events") == named(documents, "EventBridge") == []
    assert api_calls.of("events") == []
    # The item keeps the header, so the publisher's event continues this trace.
    [item] = aws.items()
    assert item["xrayTraceId"] == SAMPLED_TRACE_HEADER
    # X-Ray's API (moto's) takes every document and files them under the one trace.
    xray = boto3.client("xray")
    answer = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in documents])
    assert answer["UnprocessedTraceSegments"] == []
    [trace] = xray.batch_get_traces(TraceIds=[TRACE_ROOT])["Traces"]
    assert len(trace["Segments"]) == len(documents) == 3


def test_each_invocation_uses_its_own_trace_header(aws, invoke, daemon, monkeypatch) -> None:
    other_root = "1-6759e988-00000000000000000000000a"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED_TRACE_HEADER)
    invoke("s3_put_single")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={other_root};Parent=1111111111111111;Sampled=1")
    invoke("s3_put_unicode_key")

    roots = named(daemon.documents(), "process_s3_records")
    assert [(r["trace_id"], r["parent_id"]) for r in roots] == [
        (TRACE_ROOT, TRACE_PARENT),
        (other_root, "1111111111111111"),
    ]


def test_unsampled_invocation_exports_nothing_but_keeps_the_header_for_the_event(
    aws, invoke, daemon, monkeypatch
) -> None:
    unsampled = f"Root={TRACE_ROOT};Parent={TRACE_PARENT};Sampled=0"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", unsampled)

    invoke("s3_put_single")

    assert daemon.documents() == []
    [item] = aws.items()
    assert item["xrayTraceId"] == unsampled


def test_no_trace_header_exports_nothing(aws, invoke, daemon) -> None:
    invoke("s3_put_single")

    assert daemon.documents() == []
    [item] = aws.items()
    assert "xrayTraceId" not in item


def test_bad_records_are_annotated_as_errors(aws, invoke, daemon, monkeypatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED_TRACE_HEADER)

    invoke("s3_mixed_valid_invalid_other")

    documents = daemon.documents()
    [root] = named(documents, "process_s3_records")
    assert "1 error record" in root["annotations"]["error"]
    assert any(
        "size" in str(d.get("annotations", {}).get("error")) for d in named(documents, "dynamodb_write")
    )


def test_failed_aws_call_is_a_fault_with_its_cause(aws, invoke, daemon, monkeypatch) -> None:
    from s3flow.functions.processor.dependencies import dependencies

    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED_TRACE_HEADER)

    refuse_calls(monkeypatch, dependencies().dynamodb, "ProvisionedThroughputExceededException")

    with pytest.raises(RetryableProcessingError):
        invoke("s3_put_single")

    documents = daemon.documents()
    [dynamodb_call] = named(documents, "DynamoDB")
    assert dynamodb_call["fault"] is True
    assert "ProvisionedThroughputExceededException" in dynamodb_call["cause"]["exceptions"][0]["message"]
    [write] = named(documents, "dynamodb_write")
    assert write["fault"] is True


def test_an_unreachable_daemon_never_breaks_the_handler(aws, invoke, monkeypatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED_TRACE_HEADER)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:not-a-port")

    assert invoke("s3_put_single")["succeeded"] == 1


def test_processing_steps_and_their_s3_reads_are_traced(aws, invoke, daemon, uploads, monkeypatch) -> None:
    from s3flow.functions.processor.steps.registry import register_step

    def head(obj):
        return {"head": obj.read(0, 2).decode()}

    def broken(obj):
        raise RuntimeError("no")

    register_step(head)
    register_step(broken)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED_TRACE_HEADER)

    invoke({"Records": [uploads.put("t.txt", b"abc")]})

    documents = daemon.documents()
    [root] = named(documents, "process_s3_records")
    steps = {d["annotations"]["step"]: d for d in named(documents, "processing_step")}
    assert set(steps) == {"head", "broken"}
    assert {d["parent_id"] for d in steps.values()} == {root["id"]}
    assert steps["broken"]["annotations"]["error"] == "no" and steps["broken"]["fault"] is True
    assert "fault" not in steps["head"]
    [s3] = named(documents, "S3")
    assert s3["namespace"] == "aws" and s3["aws"]["operation"] == "GetObject"
    assert s3["parent_id"] == steps["head"]["id"]
