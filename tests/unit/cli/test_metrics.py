"""``s3flow metrics`` without AWS: the periods CloudWatch refuses, the metric names, the range."""

from __future__ import annotations

from datetime import timedelta

import pytest

from s3flow import contract
from s3flow.cli import metrics
from s3flow.cli.errors import CliError


@pytest.mark.parametrize("period", [45, 90])
def test_periods_cloudwatch_refuses_are_refused(period):
    with pytest.raises(CliError, match="multiple of 60"):
        metrics.check_period(period)


def test_the_metric_names_are_the_contracts():
    assert {c.metric for c in metrics.COLUMNS if c.namespace == contract.METRICS_NAMESPACE} == {
        contract.METRIC_OBJECTS_PROCESSED,
        contract.METRIC_PROCESSING_ERRORS,
        contract.METRIC_DUPLICATES_SKIPPED,
        contract.METRIC_BYTES_PROCESSED,
        contract.METRIC_PROCESSING_LATENCY,
        contract.METRIC_EVENTS_PUBLISHED,
        contract.METRIC_UNPUBLISHABLE_RECORDS,
    }


@pytest.mark.parametrize("period", [60, 3600, 60 * 10**9])
def test_a_range_ending_at_the_latest_time_stays_within_it(period):
    from s3flow.cli.timeparse import LATEST

    start, end = metrics.aligned(LATEST - timedelta(days=1), LATEST, period)

    assert start <= LATEST - timedelta(days=1) and end == LATEST
