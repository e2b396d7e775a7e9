"""LocalPipeline without the whole stack: errors, flow reporting, object extraction.

The pipeline running the synthesized stack end to end is tested in ``tests/e2e``.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from s3flow.local.deployment import FunctionSpec
from s3flow.local.errors import CloudAssemblyMissingError, LocalError, PortInUseError
from s3flow.local.event_sources.s3_event_record import objects_in
from s3flow.local.eventbridge import Delivery
from s3flow.local.lambda_.invocation import Invocation
from s3flow.local.lambda_.sandbox import Outcome
from s3flow.local.pipeline import (
    FlowEvent,
    FlowKind,
    LocalPipeline,
    _FlowReporter,
)

S3_EVENT = {
    "Records": [
        {"s3": {"bucket": {"name": "b"}, "object": {"key": "dir/my+file%2Bx.txt", "versionId": "v1"}}},
        {"s3": {"bucket": {"name": "b"}, "object": {"key": "plain.txt"}}},
    ]
}


def test_without_a_synthesized_template_start_says_so(tmp_path: Path):
    pipeline = LocalPipeline(tmp_path / "cdk.out", "TapStackdev", port=0)

    with pytest.raises(CloudAssemblyMissingError) as raised:
        pipeline.start()

    assert isinstance(raised.value, LocalError)
    assert "TapStackdev.template.json" in str(raised.value)


def test_a_port_in_use_stops_the_start(tmp_path: Path):
    (tmp_path / "TapStackdev.template.json").write_text("{}")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        pipeline = LocalPipeline(tmp_path, port=holder.getsockname()[1])

        with pytest.raises(PortInUseError):
            pipeline.start()


def test_objects_are_read_from_s3_records_with_decoded_keys():
    assert objects_in(S3_EVENT) == [("b", "dir/my file+x.txt", "v1"), ("b", "plain.txt", None)]
    assert objects_in({"not": "s3"}) == []
    assert objects_in(["a list"]) == []


def test_each_object_of_an_invocation_is_reported_as_it_flows():
    flows: list[FlowEvent] = []
    reporter = _FlowReporter(flows.append)
    spec = FunctionSpec("F", "fn", "arn:fn", "h.h", "python3.13", 30, 128, {}, True)
    invocation = Invocation(function=spec, event=S3_EVENT)

    reporter.queued(invocation)
    invocation.attempts = 1
    failure = Outcome(False, {"errorType": "ValueError", "errorMessage": "boom"}, 0.0, 1.0)
    reporter.retrying(invocation, failure, 0.5)
    invocation.last = failure
    reporter.failed(invocation, "RetriesExhausted")
    reporter.succeeded(invocation, Outcome(True, {"succeeded": 2}, 0.0, 1.0))

    kinds = [(f.kind, f.key) for f in flows]
    assert kinds == [
        (FlowKind.RECEIVED, "dir/my file+x.txt"),
        (FlowKind.RECEIVED, "plain.txt"),
        (FlowKind.RETRYING, "dir/my file+x.txt"),
        (FlowKind.RETRYING, "plain.txt"),
        (FlowKind.FAILED, "dir/my file+x.txt"),
        (FlowKind.FAILED, "plain.txt"),
        (FlowKind.RECORDED, "dir/my file+x.txt"),
        (FlowKind.RECORDED, "plain.txt"),
    ]
    assert "ValueError: boom" in flows[4].detail and "RetriesExhausted" in flows[4].detail
    assert flows[0].version_id == "v1" and str(flows[0].kind) == "received"


def test_the_deployment_is_only_there_once_started(tmp_path: Path):
    with pytest.raises(LocalError):
        LocalPipeline(tmp_path).deployment  # noqa: B018


def test_a_rule_delivery_that_failed_is_reported_under_its_object(tmp_path: Path):
    flows: list[FlowEvent] = []
    pipeline = LocalPipeline(tmp_path, port=0, on_flow=flows.append)
    event = {"detail": {"bucketName": "b", "objectKey": "k.csv", "versionId": "v1"}}

    target = "arn:aws:logs:r:1:log-group:g"

    pipeline._route_failed(Delivery("success-rule", target, event), "AccessDenied: no")

    (flow,) = flows
    assert (flow.kind, flow.bucket, flow.key, flow.version_id) == (FlowKind.ROUTE_FAILED, "b", "k.csv", "v1")
    assert flow.detail == f"rule success-rule could not deliver to {target}: AccessDenied: no"
