"""Helpers the functions' tests share across tiers: sample events, a fake Lambda context,
the table and bus names, a recorder of backoff pauses, and checks of what a function writes to
stdout (JSON log lines, EMF documents). Nothing here touches the network."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s3flow import contract

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
TABLE = "s3-processor-records-test"
BUS = "s3-processing-bus-test"
# Trace headers as Lambda sets them in _X_AMZN_TRACE_ID, unsampled and sampled, and their parts.
TRACE_ROOT = "1-5759e988-bd862e3fe1be46a994272793"
TRACE_PARENT = "53995c3f42cd8ad8"
TRACE_HEADER = f"Root={TRACE_ROOT};Parent={TRACE_PARENT};Sampled=0"
SAMPLED_TRACE_HEADER = f"Root={TRACE_ROOT};Parent={TRACE_PARENT};Sampled=1;Lineage=a87bd80c:0"

PROCESSOR_METRICS = {
    contract.METRIC_OBJECTS_PROCESSED,
    contract.METRIC_PROCESSING_ERRORS,
    contract.METRIC_DUPLICATES_SKIPPED,
    contract.METRIC_BYTES_PROCESSED,
    contract.METRIC_PROCESSING_LATENCY,
}  # EventsPublished is the publisher function's metric, not the processor's


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


@dataclass
class FakeContext:
    function_name: str = "s3-object-processor-test"
    function_version: str = "$LATEST"
    aws_request_id: str = "4b5c7d2e-0000-4000-8000-000000000001"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:s3-object-processor-test"


@dataclass
class Sleeps:
    seconds: list[float] = field(default_factory=list)

    def __call__(self, value: float) -> None:
        self.seconds.append(value)


# Units the EMF specification accepts (CloudWatch's StandardUnit values).
EMF_UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
    "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
    "Count/Second", "None",
}  # fmt: skip


def emf_problems(document: Any) -> list[str]:
    """What makes ``document`` invalid per the CloudWatch embedded metric format specification."""
    problems: list[str] = []
    if not isinstance(document, dict) or not isinstance(document.get("_aws"), dict):
        return ["root must be an object with an _aws object"]
    meta = document["_aws"]
    timestamp = meta.get("Timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0:
        problems.append("_aws.Timestamp must be epoch milliseconds")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*problems, "_aws.CloudWatchMetrics must be a non-empty array"]
    for directive in directives:
        if not isinstance(directive, dict) or set(directive) - {"Namespace", "Dimensions", "Metrics"}:
            problems.append(f"directive has unknown members: {directive}")
            continue
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255 or not namespace.strip():
            problems.append("Namespace must be a non-blank string of 1-255 characters")
        for dimension_set in directive.get("Dimensions", []):
            if not isinstance(dimension_set, list) or len(dimension_set) > 30:
                problems.append("a DimensionSet must be an array of at most 30 keys")
                continue
            for key in dimension_set:
                value = document.get(key)
                if not isinstance(value, str) or not 1 <= len(value) <= 1024:
                    problems.append(f"dimension {key!r} must be a top-level string of 1-1024 characters")
        metrics = directive.get("Metrics")
        if not isinstance(metrics, list) or len(metrics) > 100:
            problems.append("Metrics must be an array of at most 100 definitions")
            continue
        for metric in metrics:
            name = metric.get("Name") if isinstance(metric, dict) else None
            if not isinstance(name, str) or not 1 <= len(name) <= 255:
                problems.append(f"metric definition without a valid Name: {metric}")
                continue
            if set(metric) - {"Name", "Unit", "StorageResolution"}:
                problems.append(f"metric {name} has unknown members")
            if "Unit" in metric and metric["Unit"] not in EMF_UNITS:
                problems.append(f"metric {name} has unit {metric['Unit']!r}")
            if metric.get("StorageResolution", 60) not in (1, 60):
                problems.append(f"metric {name} has an invalid StorageResolution")
            value = document.get(name)
            values = value if isinstance(value, list) else [value]
            if (
                not values
                or len(values) > 100
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
            ):
                problems.append(f"metric {name} must have a top-level number (or up to 100 numbers)")
    return problems


def stdout_documents(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every stdout line parsed as JSON (raises if one is not): (log lines, EMF documents)."""
    parsed = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [d for d in parsed if "_aws" not in d], [d for d in parsed if "_aws" in d]
