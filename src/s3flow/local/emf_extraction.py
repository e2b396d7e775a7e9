"""CloudWatch Logs' metric extraction, locally: EMF lines in a function's output become metrics.

On AWS, CloudWatch Logs reads every event of a log group and turns each one that is an
embedded-metric-format (EMF) document into datapoints. Locally the runtime hands each line
of a function's output to ``EmfExtractor.handle``, which sends the datapoints to the emulator
with ``PutMetricData``; ``s3flow metrics`` then reads them with the same ``GetMetricData`` as
on AWS.

What counts as a document follows the EMF specification: a JSON object whose ``_aws`` holds
``Timestamp`` (epoch milliseconds) and ``CloudWatchMetrics``, a list of directives with
``Namespace``, ``Dimensions`` (dimension sets: lists of member names) and ``Metrics``
(``Name``, optional ``Unit`` and ``StorageResolution``). Dimension values are string members
of the root, metric values number members (or arrays of numbers). Each dimension set yields
its own datapoints. A directive that breaks these rules is not extracted: the line stays a
log line only, as CloudWatch does with it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from numbers import Real
from typing import Any

from s3flow.local.credentials import LazyClient
from s3flow.local.errors import InvalidDocumentError

log = logging.getLogger(__name__)

# EMF limits (CloudWatch rejects more) and PutMetricData's per-request metric limit.
MAX_DIMENSIONS_PER_SET = 30
MAX_METRICS_PER_DIRECTIVE = 100
MAX_VALUES_PER_METRIC = 100
MAX_DATUMS_PER_REQUEST = 1000


@dataclass(frozen=True)
class MetricBatch:
    """One ``PutMetricData`` call: a namespace and its datums."""

    namespace: str
    metric_data: list[dict[str, Any]]


def parse_line(line: str) -> dict[str, Any] | None:
    """The JSON object on the line if it carries ``_aws.CloudWatchMetrics``, else None."""
    text = line.strip()
    # Cheap test first: most lines are not EMF and need no JSON parse.
    if not text.startswith("{") or "CloudWatchMetrics" not in text:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    meta = document.get("_aws")
    if not isinstance(meta, dict) or "CloudWatchMetrics" not in meta:
        return None
    return document


def extract(document: Mapping[str, Any]) -> list[MetricBatch]:
    """The datums of every valid directive in an EMF document, as PutMetricData batches."""
    meta = document["_aws"]
    timestamp = _timestamp(meta.get("Timestamp"))
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise InvalidDocumentError("_aws.CloudWatchMetrics is not a list")
    batches: list[MetricBatch] = []
    for directive in directives:
        try:
            namespace, data = _directive(document, directive, timestamp)
        except InvalidDocumentError as error:
            log.warning("EMF directive not extracted: %s", error)
            continue
        batches.extend(MetricBatch(namespace, chunk) for chunk in _chunks(data, MAX_DATUMS_PER_REQUEST))
    return batches


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, Real) or isinstance(value, bool):
        raise InvalidDocumentError("_aws.Timestamp must be epoch milliseconds")
    return datetime.fromtimestamp(float(value) / 1000, tz=UTC)


def _directive(
    document: Mapping[str, Any], directive: Any, timestamp: datetime
) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(directive, dict):
        raise InvalidDocumentError("a directive is not an object")
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not namespace or namespace.startswith("AWS/"):
        raise InvalidDocumentError(f"bad namespace {namespace!r}")
    dimension_sets = _dimension_sets(document, directive.get("Dimensions"))
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list) or len(metrics) > MAX_METRICS_PER_DIRECTIVE:
        raise InvalidDocumentError(f"Metrics must be a list of at most {MAX_METRICS_PER_DIRECTIVE}")
    data: list[dict[str, Any]] = []
    for definition in metrics:
        if not isinstance(definition, dict) or not isinstance(definition.get("Name"), str):
            raise InvalidDocumentError("a metric definition has no Name")
        name = definition["Name"]
        values = _values(name, document.get(name))
        datum_base: dict[str, Any] = {"MetricName": name, "Timestamp": timestamp}
        if "Unit" in definition:
            datum_base["Unit"] = definition["Unit"]
        if definition.get("StorageResolution") in (1, 60):
            datum_base["StorageResolution"] = definition["StorageResolution"]
        for dimensions in dimension_sets:
            datum = {**datum_base, "Dimensions": dimensions}
            if len(values) == 1:
                datum["Value"] = values[0]
            else:
                datum["Values"] = values
            data.append(datum)
    return namespace, data


def _dimension_sets(document: Mapping[str, Any], sets: Any) -> list[list[dict[str, str]]]:
    if not isinstance(sets, list):
        raise InvalidDocumentError("Dimensions must be a list of dimension sets")
    if not sets:
        return [[]]  # metrics without any dimension
    resolved: list[list[dict[str, str]]] = []
    for names in sets:
        if not isinstance(names, list) or len(names) > MAX_DIMENSIONS_PER_SET:
            raise InvalidDocumentError(f"a dimension set must list at most {MAX_DIMENSIONS_PER_SET} names")
        dimensions = []
        for name in names:
            value = document.get(name) if isinstance(name, str) else None
            if not isinstance(value, str) or not value:
                raise InvalidDocumentError(f"dimension {name!r} has no string value in the document")
            dimensions.append({"Name": name, "Value": value})
        resolved.append(dimensions)
    return resolved


def _values(name: str, value: Any) -> list[float]:
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > MAX_VALUES_PER_METRIC:
        raise InvalidDocumentError(f"metric {name!r} needs 1 to {MAX_VALUES_PER_METRIC} values")
    if not all(isinstance(v, Real) and not isinstance(v, bool) for v in values):
        raise InvalidDocumentError(f"metric {name!r} has no numeric value in the document")
    return [float(v) for v in values]


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class EmfExtractor:
    """Turns EMF lines into ``PutMetricData`` calls on a CloudWatch client.

    ``client_factory`` builds the client on first use (most functions never print EMF), so a
    runtime that never sees a document never opens one.
    """

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client = LazyClient(client_factory)

    def handle(self, line: str) -> int:
        """Publishes the metrics of one output line; returns how many datums were sent."""
        document = parse_line(line)
        if document is None:
            return 0
        try:
            batches = extract(document)
        except InvalidDocumentError as error:
            log.warning("EMF document not extracted: %s", error)
            return 0
        sent = 0
        for batch in batches:
            try:
                self._client().put_metric_data(Namespace=batch.namespace, MetricData=batch.metric_data)
                sent += len(batch.metric_data)
            except Exception:
                log.warning("could not put metrics in %s", batch.namespace, exc_info=True)
        return sent
