"""The EMF validator the functional tests use, and our metric units, held to the specification."""

from __future__ import annotations

from s3flow import contract
from s3flow.functions.shared.observability.emf import UNITS, emf_document, metric_values
from support.functions import PROCESSOR_METRICS, emf_problems


def test_every_metric_has_a_unit_the_specification_accepts() -> None:
    document = emf_document(
        metric_values({"succeeded": 1, "bytes": 3}, latency_ms=1.5),
        environment="dev",
        timestamp_ms=1,
    )

    assert emf_problems(document) == []
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert {metric["Name"] for metric in directive["Metrics"]} == PROCESSOR_METRICS
    assert set(UNITS) >= PROCESSOR_METRICS


def test_the_validator_catches_what_cloudwatch_would_reject() -> None:
    good = emf_document({contract.METRIC_OBJECTS_PROCESSED: 1}, environment="dev", timestamp_ms=1)

    missing_value = {k: v for k, v in good.items() if k != contract.METRIC_OBJECTS_PROCESSED}
    bad_unit = {**good, "_aws": {**good["_aws"], "CloudWatchMetrics": [
        {**good["_aws"]["CloudWatchMetrics"][0], "Metrics": [{"Name": "ObjectsProcessed", "Unit": "Objects"}]}
    ]}}  # fmt: skip
    no_dimension_value = {k: v for k, v in good.items() if k != "Environment"}

    assert emf_problems(good) == []
    assert emf_problems(missing_value) and emf_problems(bad_unit) and emf_problems(no_dimension_value)
