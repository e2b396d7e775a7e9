"""``s3flow metrics`` against the real local pipeline: the processor's EMF lines, extracted by
the local runtime, read back with GetMetricData (the module has its own pipeline, so the
counts are exactly what these tests sent)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from s3flow.cli import metrics
from s3flow.cli.main import app
from s3flow.cli.target import resolve_target

SETTLE = 30.0


def footer(output: str) -> dict[str, str]:
    """The table's ``total`` row, by column header."""
    lines = output.splitlines()
    # A header too wide for the console wraps over several lines: join each column's pieces.
    header_lines = [line.strip("┃").split("┃") for line in lines if line.startswith("┃")]
    total = next(line for line in lines if line.startswith("│ total"))
    names = [
        " ".join(piece.strip() for piece in column if piece.strip())
        for column in zip(*header_lines, strict=True)
    ]
    values = [cell.strip() for cell in total.strip("│").split("│")]
    return dict(zip(names, values, strict=True))


@pytest.fixture(scope="module")
def processed(local) -> dict[str, int]:
    """Three objects, one redelivered, one record that cannot be processed."""
    bucket = local.outputs["S3BucketName"]
    s3, lam = local.client("s3"), local.client("lambda")
    sizes = {"m/one.txt": 10, "m/two.txt": 200, "m/three.txt": 3000}
    for key, size in sizes.items():
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * size)
    local.settle()
    # S3 delivers at least once: the same notification once more is a duplicate
    (event,) = [f.payload for f in local.flows if f.key == "m/two.txt" and str(f.kind) == "received"]
    function = local.outputs["LambdaFunctionName"]
    lam.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(event))
    # a record without an object: an error record and an error event, not a failed invocation
    broken = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]}
    lam.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(broken))
    local.settle()
    return sizes


def read(local) -> metrics.MetricsReport:
    now = datetime.now(UTC)
    target = resolve_target(endpoint_url=local.endpoint_url)
    return metrics.read_metrics(target, now - timedelta(hours=1), now, period=3600)


def wait_for_invocations(local, count: int) -> metrics.MetricsReport:
    """Metrics arrive shortly after the invocation (extracted from its output), as on AWS."""
    deadline = time.monotonic() + SETTLE
    report = read(local)
    while (
        time.monotonic() < deadline
        and report.totals.get("events", 0) + report.totals.get("duplicates", 0) < count
    ):
        time.sleep(0.1)
        report = read(local)
    return report


def test_the_environment_is_the_stacks_suffix(local):
    target = resolve_target(endpoint_url=local.endpoint_url)
    assert metrics.stack_environment(target) == "dev"


def test_metrics_counts_what_went_through_the_pipeline(local, runner, processed):
    wait_for_invocations(local, 5)  # 3 objects + 1 error event + 1 duplicate

    result = runner.invoke(app, ["metrics", "--since", "-1h", "--period", "3600", *local.args])

    assert result.exit_code == 0, result.output
    assert "Environment=dev" in result.output
    total = footer(result.output)
    assert total["objects"] == "3"
    assert total["duplicates"] == "1"
    assert total["record errors"] == "1"
    assert total["events"] == "4"  # three success events and one error event
    assert total["bytes"] == f"{sum(processed.values()):,}"
    latency = {name: float(total[name].replace(",", "")) for name in ("latency avg ms", "latency max ms")}
    assert latency["latency max ms"] >= latency["latency avg ms"] > 0
    assert total["lambda errors"] == "-"  # AWS/Lambda: AWS publishes it, the emulator does not
    assert "failure queue: 0 waiting, 0 in flight" in result.output


def test_each_period_is_a_row_and_the_totals_add_them_up(local, processed):
    wait_for_invocations(local, 5)
    now = datetime.now(UTC)
    target = resolve_target(endpoint_url=local.endpoint_url)

    report = metrics.read_metrics(target, now - timedelta(minutes=30), now, period=60)

    assert report.rows, "no period had datapoints"
    assert sum(values.get("objects", 0) for _, values in report.rows) == report.totals["objects"] == 3
    assert report.totals["latency_max"] == max(v["latency_max"] for _, v in report.rows if "latency_max" in v)
    assert all(when.second == 0 for when, _ in report.rows)


def test_a_range_without_datapoints_says_so(local, runner, processed):
    result = runner.invoke(app, ["metrics", "--since", "-3d", "--until", "-2d", *local.args])

    assert result.exit_code == 0, result.output
    assert "no datapoints in this range" in result.output


def test_an_explicit_environment_reads_that_dimension(local, runner, processed):
    result = runner.invoke(app, ["metrics", "--environment", "prod", "--period", "3600", *local.args])

    assert result.exit_code == 0, result.output
    assert "Environment=prod" in result.output
    assert "no datapoints in this range" in result.output
