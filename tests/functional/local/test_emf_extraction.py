"""EMF lines in a function's output become CloudWatch metrics in the emulator.

The extraction rules are checked on documents directly; the runtime test runs a handler in
a sandbox that prints the processor's own EMF document and reads the metric back with
``GetMetricStatistics`` over HTTP, as ``s3flow metrics`` does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from s3flow import contract
from s3flow.functions.shared.observability import emf as processor_emf
from s3flow.local.deployment import AsyncInvokeConfig, Deployment, FunctionSpec
from s3flow.local.emf_extraction import EmfExtractor, extract, parse_line
from s3flow.local.errors import InvalidDocumentError
from s3flow.local.lambda_.runtime import LambdaRuntime
from s3flow.local.server import LocalServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
STAMP_MS = 1_764_000_000_000  # 2025-11-24T16:00:00Z


def document(**members: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "_aws": {
            "Timestamp": STAMP_MS,
            "CloudWatchMetrics": [
                {
                    "Namespace": "S3Flow",
                    "Dimensions": [["Environment"]],
                    "Metrics": [{"Name": "ObjectsProcessed", "Unit": "Count"}],
                }
            ],
        },
        "Environment": "dev",
        "ObjectsProcessed": 3,
    }
    base.update(members)
    return base


# -- recognising a document ----------------------------------------------------------------


def test_only_json_objects_with_cloudwatch_metrics_are_documents():
    assert parse_line(json.dumps(document())) == document()
    assert parse_line("START RequestId: 1 Version: $LATEST") is None
    assert parse_line('{"level": "INFO", "message": "CloudWatchMetrics mentioned in text"}') is None
    assert parse_line('{"_aws": {"CloudWatchMetrics": [') is None  # cut short
    assert parse_line('["CloudWatchMetrics"]') is None


# -- extraction rules ------------------------------------------------------------------------


def test_namespace_dimensions_unit_and_timestamp_come_from_the_document():
    (batch,) = extract(document())

    assert batch.namespace == "S3Flow"
    assert batch.metric_data == [
        {
            "MetricName": "ObjectsProcessed",
            "Timestamp": datetime.fromtimestamp(STAMP_MS / 1000, tz=UTC),
            "Unit": "Count",
            "Dimensions": [{"Name": "Environment", "Value": "dev"}],
            "Value": 3.0,
        }
    ]


def test_each_dimension_set_yields_its_own_datum_and_arrays_become_values():
    doc = document(Stage="beta", ObjectsProcessed=[1, 2, 2])
    doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [["Environment"], ["Environment", "Stage"], []]

    (batch,) = extract(doc)

    assert [d["Dimensions"] for d in batch.metric_data] == [
        [{"Name": "Environment", "Value": "dev"}],
        [{"Name": "Environment", "Value": "dev"}, {"Name": "Stage", "Value": "beta"}],
        [],
    ]
    assert all(d["Values"] == [1.0, 2.0, 2.0] and "Value" not in d for d in batch.metric_data)


def test_a_directive_that_breaks_the_rules_is_skipped_and_the_others_kept():
    doc = document(Other=5)
    doc["_aws"]["CloudWatchMetrics"].append(
        {"Namespace": "Other", "Dimensions": [["Missing"]], "Metrics": [{"Name": "Other"}]}
    )

    batches = extract(doc)

    assert [b.namespace for b in batches] == ["S3Flow"]


@pytest.mark.parametrize(
    "change",
    [
        {"ObjectsProcessed": "3"},  # value not a number
        {"ObjectsProcessed": True},  # JSON true is not a number
        {"Environment": 7},  # dimension value not a string
        {"ObjectsProcessed": list(range(101))},  # over 100 values
    ],
)
def test_invalid_values_extract_nothing(change):
    assert extract(document(**change)) == []


def test_a_document_without_a_timestamp_is_invalid():
    doc = document()
    del doc["_aws"]["Timestamp"]
    with pytest.raises(InvalidDocumentError):
        extract(doc)


def test_more_than_a_thousand_datums_are_split_into_requests():
    doc = document()
    sets = [[f"D{i}"] for i in range(30)]
    doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = sets
    names = [f"M{i}" for i in range(40)]
    doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] = [{"Name": n} for n in names]
    doc.update({f"D{i}": "x" for i in range(30)})
    doc.update(dict.fromkeys(names, 1))

    batches = extract(doc)

    assert [len(b.metric_data) for b in batches] == [1000, 200]


class FakeCloudWatch:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def test_the_extractor_sends_documents_and_ignores_other_lines():
    fake = FakeCloudWatch()
    extractor = EmfExtractor(lambda: fake)

    assert extractor.handle("plain text") == 0
    assert extractor.handle(json.dumps(document())) == 1

    assert [c["Namespace"] for c in fake.calls] == ["S3Flow"]
    assert fake.calls[0]["MetricData"][0]["Value"] == 3.0


# -- through the runtime -------------------------------------------------------------------


def print_emf(event: dict[str, Any], context: Any) -> None:
    """Runs in a sandbox: the processor's own EMF document, as its handler prints it."""
    values = processor_emf.metric_values(
        {"succeeded": event["objects"], "duplicates": 1, "bytes": 2048}, latency_ms=12.5
    )
    processor_emf.emit(
        processor_emf.emf_document(values, environment="test", timestamp_ms=int(time.time() * 1000))
    )


@pytest.fixture
def runtime(server: LocalServer) -> Iterator[LambdaRuntime]:
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    name = "fn-print-emf"
    spec = FunctionSpec(
        logical_id=name,
        name=name,
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        handler=f"{__name__}.print_emf",
        runtime="python3.13",
        timeout_seconds=30,
        memory_mb=256,
        environment={},
        tracing_active=False,
        async_config=AsyncInvokeConfig(maximum_retry_attempts=0, maximum_event_age_seconds=60),
    )
    deployment = Deployment(stack_name="Test", region=REGION, account=ACCOUNT)
    deployment.functions = {name: spec}
    local = LambdaRuntime(deployment, endpoint_url=server.endpoint_url, retry_delays=(0.1,), concurrency=1)
    local.start()
    yield local
    local.stop()


def statistics(cloudwatch: Any, name: str, stats: list[str]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return cloudwatch.get_metric_statistics(
        Namespace=contract.METRICS_NAMESPACE,
        MetricName=name,
        Dimensions=[{"Name": contract.METRICS_DIMENSION_ENVIRONMENT, "Value": "test"}],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=stats,
    )["Datapoints"]


def test_a_functions_emf_output_becomes_metrics_in_the_emulator(server, runtime):
    cloudwatch = boto3.client("cloudwatch", endpoint_url=server.endpoint_url, region_name=REGION)

    runtime.invoke("fn-print-emf", {"objects": 2})
    runtime.invoke("fn-print-emf", {"objects": 3})

    # The output reaches the extractor on the sandbox's own thread, shortly after the result.
    deadline = time.monotonic() + 10
    points = statistics(cloudwatch, contract.METRIC_OBJECTS_PROCESSED, ["Sum", "SampleCount"])
    while time.monotonic() < deadline and (not points or points[0]["SampleCount"] < 2):
        time.sleep(0.05)
        points = statistics(cloudwatch, contract.METRIC_OBJECTS_PROCESSED, ["Sum", "SampleCount"])
    assert [(p["Sum"], p["SampleCount"], p["Unit"]) for p in points] == [(5.0, 2.0, "Count")]
    (latency,) = statistics(cloudwatch, contract.METRIC_PROCESSING_LATENCY, ["Maximum"])
    assert (latency["Maximum"], latency["Unit"]) == (12.5, "Milliseconds")
    (size,) = statistics(cloudwatch, contract.METRIC_BYTES_PROCESSED, ["Sum"])
    assert (size["Sum"], size["Unit"]) == (4096.0, "Bytes")
