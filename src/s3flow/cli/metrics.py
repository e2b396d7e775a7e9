"""``metrics``: the pipeline's CloudWatch metrics per period, read with ``GetMetricData``.

The same calls locally (the runtime turns the processor's EMF lines into metrics in the
emulator) and on AWS (CloudWatch Logs does). The processor's metrics carry the dimension
``Environment`` = the stack's suffix, read from the function's environment, else from the
stack's export names. Lambda's own Errors and Throttles and the failure queue's depth come
from AWS/Lambda and AWS/SQS (locally the emulator writes the processor's Errors and the
queues' depth, not Throttles); the queues' current depth comes from SQS itself, everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from rich.console import Group
from rich.table import Table
from rich.text import Text

from s3flow import contract
from s3flow.cli import timeparse
from s3flow.cli.errors import CliError
from s3flow.cli.target import Target

# Periods CloudWatch accepts: high-resolution ones, or whole minutes.
HIGH_RESOLUTION_PERIODS = (1, 5, 10, 30)


@dataclass(frozen=True)
class Column:
    """One column of the table: a metric and statistic, and how its period values add up."""

    id: str  # GetMetricData query id
    header: str
    namespace: str
    metric: str
    stat: str
    total: str  # "sum", "max" or "mean" (latency: Sum over SampleCount of all periods)


OWN = contract.METRICS_NAMESPACE
COLUMNS: tuple[Column, ...] = (
    Column("objects", "objects", OWN, contract.METRIC_OBJECTS_PROCESSED, "Sum", "sum"),
    Column("errors", "record errors", OWN, contract.METRIC_PROCESSING_ERRORS, "Sum", "sum"),
    Column("duplicates", "duplicates", OWN, contract.METRIC_DUPLICATES_SKIPPED, "Sum", "sum"),
    Column("bytes", "bytes", OWN, contract.METRIC_BYTES_PROCESSED, "Sum", "sum"),
    Column("latency_avg", "latency avg ms", OWN, contract.METRIC_PROCESSING_LATENCY, "Average", "mean"),
    Column("latency_max", "latency max ms", OWN, contract.METRIC_PROCESSING_LATENCY, "Maximum", "max"),
    Column("events", "events", OWN, contract.METRIC_EVENTS_PUBLISHED, "Sum", "sum"),
    Column("unpublishable", "unpublishable", OWN, contract.METRIC_UNPUBLISHABLE_RECORDS, "Sum", "sum"),
    Column("lambda_errors", "lambda errors", "AWS/Lambda", "Errors", "Sum", "sum"),
    Column("throttles", "throttles", "AWS/Lambda", "Throttles", "Sum", "sum"),
    Column("queue_depth", "failure queue", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "max"),
)
# Only to total the latency average over all periods.
LATENCY_SUM = Column("latency_sum", "", OWN, contract.METRIC_PROCESSING_LATENCY, "Sum", "sum")
LATENCY_COUNT = Column("latency_count", "", OWN, contract.METRIC_PROCESSING_LATENCY, "SampleCount", "sum")


@dataclass
class MetricsReport:
    environment: str
    start: datetime
    end: datetime
    period: int
    rows: list[tuple[datetime, dict[str, float]]] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)
    queue_depths: dict[str, tuple[int, int] | None] = field(default_factory=dict)  # visible, in flight
    local: bool = False


def check_period(period: int) -> int:
    if period in HIGH_RESOLUTION_PERIODS or (period >= 60 and period % 60 == 0):
        return period
    raise CliError(f"--period must be 1, 5, 10, 30 or a multiple of 60 seconds, not {period}")


def stack_environment(target: Target) -> str:
    """The ``Environment`` dimension value the function writes: its environment variable,
    else the suffix of the stack's export names (``LambdaFunctionName-<suffix>``)."""
    function = target.output("LambdaFunctionName")
    try:
        config = target.client("lambda").get_function_configuration(FunctionName=function)
        value = config.get("Environment", {}).get("Variables", {}).get(contract.ENV_ENVIRONMENT)
        if value:
            return str(value)
    except ClientError:
        pass  # locally the function is not in moto; on AWS the caller may lack the permission
    stacks = target.client("cloudformation").describe_stacks(StackName=target.stack_name)["Stacks"]
    for output in stacks[0].get("Outputs", []) if stacks else []:
        prefix = f"{output['OutputKey']}-"
        export = output.get("ExportName", "")
        if output["OutputKey"] == "LambdaFunctionName" and export.startswith(prefix):
            return export[len(prefix) :]
    raise CliError(f"cannot tell the environment of stack {target.stack_name}: pass --environment")


def dimensions_for(column: Column, environment: str, outputs: dict[str, str]) -> list[dict[str, str]] | None:
    if column.namespace == OWN:
        return [{"Name": contract.METRICS_DIMENSION_ENVIRONMENT, "Value": environment}]
    if column.namespace == "AWS/Lambda" and "LambdaFunctionName" in outputs:
        return [{"Name": "FunctionName", "Value": outputs["LambdaFunctionName"]}]
    if column.namespace == "AWS/SQS" and "FailureQueueUrl" in outputs:
        return [{"Name": "QueueName", "Value": outputs["FailureQueueUrl"].rstrip("/").rsplit("/", 1)[-1]}]
    return None


def queries(columns: Iterable[Column], environment: str, outputs: dict[str, str], period: int) -> list[dict]:
    found = []
    for column in columns:
        dimensions = dimensions_for(column, environment, outputs)
        if dimensions is None:
            continue
        metric = {"Namespace": column.namespace, "MetricName": column.metric, "Dimensions": dimensions}
        found.append(
            {
                "Id": column.id,
                "MetricStat": {"Metric": metric, "Period": period, "Stat": column.stat},
                "ReturnData": True,
            }
        )
    return found


def get_series(
    cloudwatch: Any, metric_queries: list[dict], start: datetime, end: datetime
) -> dict[str, dict[datetime, float]]:
    """Each query's value per period start, over every page of ``GetMetricData``."""
    series: dict[str, dict[datetime, float]] = {query["Id"]: {} for query in metric_queries}
    kwargs: dict[str, Any] = {
        "MetricDataQueries": metric_queries,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    while True:
        page = cloudwatch.get_metric_data(**kwargs)
        for result in page.get("MetricDataResults", []):
            points = series.setdefault(result["Id"], {})
            for when, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                points[when.astimezone(UTC)] = float(value)
        token = page.get("NextToken")
        if not token:
            return series
        kwargs["NextToken"] = token


def aligned(start: datetime, end: datetime, period: int) -> tuple[datetime, datetime]:
    """Start and end on period boundaries (CloudWatch answers fastest and exactly so)."""
    first = int(start.timestamp()) // period * period
    last = max(-(-int(end.timestamp()) // period) * period, first + period)
    # Rounding up past the last second a datetime holds would not be a time at all.
    last = min(last, int(timeparse.LATEST.timestamp()))
    return datetime.fromtimestamp(first, tz=UTC), datetime.fromtimestamp(last, tz=UTC)


def totals(series: dict[str, dict[datetime, float]]) -> dict[str, float]:
    result: dict[str, float] = {}
    for column in COLUMNS:
        values = list(series.get(column.id, {}).values())
        if not values:
            continue
        if column.total == "sum":
            result[column.id] = sum(values)
        elif column.total == "max":
            result[column.id] = max(values)
    count = sum(series.get(LATENCY_COUNT.id, {}).values())
    if count:
        result["latency_avg"] = sum(series.get(LATENCY_SUM.id, {}).values()) / count
    return result


def queue_depth(sqs: Any, url: str) -> tuple[int, int] | None:
    """(visible, in flight) now, or None if the queue cannot be read."""
    try:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    except ClientError:
        return None
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def read_metrics(
    target: Target, start: datetime, end: datetime, *, period: int = 60, environment: str | None = None
) -> MetricsReport:
    period = check_period(period)
    outputs = target.outputs
    environment = environment or stack_environment(target)
    start, end = aligned(start, end, period)
    metric_queries = queries((*COLUMNS, LATENCY_SUM, LATENCY_COUNT), environment, outputs, period)
    series = get_series(target.client("cloudwatch"), metric_queries, start, end)
    shown = {column.id for column in COLUMNS}
    stamps = sorted({when for key, points in series.items() if key in shown for when in points})
    report = MetricsReport(environment, start, end, period, local=target.is_local)
    report.rows = [
        (when, {key: series[key][when] for key in shown if when in series.get(key, {})}) for when in stamps
    ]
    report.totals = totals(series)
    queues = (
        ("failure queue", "FailureQueueUrl"),
        ("publisher failure queue", "PublisherFailureQueueUrl"),
        ("event DLQ", "EventDeadLetterQueueUrl"),
    )
    for label, key in queues:
        if key in outputs:
            report.queue_depths[label] = queue_depth(target.client("sqs"), outputs[key])
    return report


# -- output ------------------------------------------------------------------------------


def _cell(column: Column, values: dict[str, float]) -> str:
    value = values.get(column.id)
    if value is None:
        return "-"
    if column.id.startswith("latency"):
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _stamp(when: datetime, period: int) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ" if period < 60 else "%Y-%m-%dT%H:%MZ")


def metrics_table(report: MetricsReport) -> Group:
    title = (
        f"metrics Environment={report.environment}  {_stamp(report.start, report.period)} .. "
        f"{_stamp(report.end, report.period)}  per {report.period}s"
    )
    table = Table(title=title, title_justify="left", show_footer=bool(report.rows))
    table.add_column("period", footer="total", no_wrap=True)
    for column in COLUMNS:
        table.add_column(column.header, justify="right", footer=_cell(column, report.totals))
    for when, values in report.rows:
        table.add_row(_stamp(when, report.period), *(_cell(column, values) for column in COLUMNS))
    lines: list[Text] = []
    if not report.rows:
        lines.append(Text("no datapoints in this range"))
    depths = [
        f"{label}: {depth[0]} waiting, {depth[1]} in flight" if depth else f"{label}: unreadable"
        for label, depth in report.queue_depths.items()
    ]
    if depths:
        lines.append(Text("now: " + "; ".join(depths)))
    if report.local:
        lines.append(Text("AWS/Lambda Throttles is published by AWS only: '-' locally", style="dim"))
    return Group(table, *lines)
