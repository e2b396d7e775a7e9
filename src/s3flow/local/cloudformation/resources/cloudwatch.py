"""``AWS::CloudWatch::Alarm`` and ``AWS::CloudWatch::Dashboard``, created in moto."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType


def _alarm(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    name = ctx.name(logical_id, props.get("AlarmName"), max_length=255)
    numbers: dict[str, Callable[[Any], Any]] = {
        "Period": int,
        "EvaluationPeriods": int,
        "DatapointsToAlarm": int,
        "Threshold": float,
    }
    args = {key: numbers.get(key, lambda v: v)(value) for key, value in props.items() if key != "AlarmName"}
    ctx.client("cloudwatch").put_metric_alarm(AlarmName=name, **args)
    return Created(name, {"Arn": f"arn:{ctx.partition}:cloudwatch:{ctx.region}:{ctx.account}:alarm:{name}"})


def _dashboard(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    name = ctx.name(logical_id, props.get("DashboardName"), max_length=255)
    ctx.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=props["DashboardBody"])
    return Created(name)


ALARM = ResourceType(
    "AWS::CloudWatch::Alarm",
    known_properties=frozenset(
        [
            "AlarmName",
            "AlarmDescription",
            "ActionsEnabled",
            "AlarmActions",
            "OKActions",
            "InsufficientDataActions",
            "MetricName",
            "Namespace",
            "Statistic",
            "ExtendedStatistic",
            "Dimensions",
            "Period",
            "Unit",
            "EvaluationPeriods",
            "DatapointsToAlarm",
            "Threshold",
            "ComparisonOperator",
            "TreatMissingData",
            "EvaluateLowSampleCountPercentile",
            "Metrics",
            "ThresholdMetricId",
        ]
    ),
    create=_alarm,
)
DASHBOARD = ResourceType(
    "AWS::CloudWatch::Dashboard",
    known_properties=frozenset({"DashboardName", "DashboardBody"}),
    create=_dashboard,
)
