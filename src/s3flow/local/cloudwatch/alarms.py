"""How CloudWatch decides a metric alarm's state, as pure functions: datapoints in, state out.

An alarm looks at its last ``EvaluationPeriods`` periods, one datapoint (the alarm's
statistic over that period) or none per period; it goes to ALARM when at least
``DatapointsToAlarm`` (default: all of them) breach the threshold, to OK otherwise
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).
A period without data is what ``TreatMissingData`` says: ``notBreaching`` counts it as within
the threshold, ``breaching`` as over it, ``ignore`` keeps the current state, ``missing`` (the
default) goes to INSUFFICIENT_DATA when every period lacks data
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html).
Simplification: with ``ignore`` or ``missing`` and only some periods missing, the periods
that have data decide; CloudWatch may also look further back for them.

Alarms on metric math (``Metrics``), percentiles (``ExtendedStatistic``) or anomaly bands are
not evaluated: ``AlarmRule.from_description`` returns None for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"

# Comparison operator -> (test, the words CloudWatch's reason uses).
COMPARISONS: dict[str, tuple[Any, str]] = {
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
STATISTICS = frozenset({"Sum", "Average", "Maximum", "Minimum", "SampleCount"})


@dataclass(frozen=True)
class AlarmRule:
    """What evaluating one metric alarm needs, read from ``DescribeAlarms``."""

    name: str
    arn: str
    description: str | None
    namespace: str
    metric_name: str
    statistic: str
    dimensions: tuple[tuple[str, str], ...]
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing_data: str
    unit: str | None = None
    actions_enabled: bool = True
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()

    @classmethod
    def from_description(cls, alarm: Mapping[str, Any]) -> AlarmRule | None:
        """The rule of a ``DescribeAlarms`` metric alarm; None if it is not one this evaluates."""
        if alarm.get("Metrics") or alarm.get("Statistic") not in STATISTICS:
            return None
        if alarm.get("ComparisonOperator") not in COMPARISONS or alarm.get("Threshold") is None:
            return None
        periods = int(alarm.get("EvaluationPeriods") or 1)
        return cls(
            name=str(alarm["AlarmName"]),
            arn=str(alarm.get("AlarmArn", "")),
            description=alarm.get("AlarmDescription"),
            namespace=str(alarm["Namespace"]),
            metric_name=str(alarm["MetricName"]),
            statistic=str(alarm["Statistic"]),
            dimensions=tuple((d["Name"], d["Value"]) for d in alarm.get("Dimensions") or []),
            period=int(alarm.get("Period") or 60),
            evaluation_periods=periods,
            datapoints_to_alarm=int(alarm.get("DatapointsToAlarm") or periods),
            threshold=float(alarm["Threshold"]),
            comparison=str(alarm["ComparisonOperator"]),
            treat_missing_data=str(alarm.get("TreatMissingData") or "missing"),
            unit=alarm.get("Unit"),
            actions_enabled=bool(alarm.get("ActionsEnabled", True)),
            alarm_actions=tuple(alarm.get("AlarmActions") or ()),
            ok_actions=tuple(alarm.get("OKActions") or ()),
            insufficient_data_actions=tuple(alarm.get("InsufficientDataActions") or ()),
        )

    def actions_for(self, state: str) -> tuple[str, ...]:
        """The ARNs notified when the alarm enters ``state`` (none while actions are disabled)."""
        if not self.actions_enabled:
            return ()
        return {ALARM: self.alarm_actions, OK: self.ok_actions}.get(state, self.insufficient_data_actions)


@dataclass(frozen=True)
class Evaluation:
    state: str
    reason: str
    reason_data: dict[str, Any]


def breaches(alarm: AlarmRule, value: float) -> bool:
    test, _ = COMPARISONS[alarm.comparison]
    return bool(test(value, alarm.threshold))


def evaluate(alarm: AlarmRule, datapoints: Sequence[float | None], current_state: str) -> Evaluation:
    """The state the alarm is in given one datapoint (or None: missing) per evaluated period,
    oldest first."""
    present = [value for value in datapoints if value is not None]
    missing = len(datapoints) - len(present)
    breaching = [value for value in present if breaches(alarm, value)]
    breach_count = len(breaching) + (missing if alarm.treat_missing_data == "breaching" else 0)
    data = {"recentDatapoints": present, "threshold": alarm.threshold}
    if breach_count >= alarm.datapoints_to_alarm:
        return Evaluation(ALARM, _crossed(alarm, len(datapoints), breaching, current_state), data)
    if not present and alarm.treat_missing_data in ("missing", "ignore"):
        state = INSUFFICIENT_DATA if alarm.treat_missing_data == "missing" else current_state
        return Evaluation(state, f"Insufficient Data: {missing} datapoint(s) were unknown.", data)
    if not present:
        return Evaluation(
            OK,
            f"Threshold Crossed: no datapoints were received for {missing} period(s) and {missing} "
            "missing datapoint(s) were treated as [NonBreaching].",
            data,
        )
    _, words = COMPARISONS[alarm.comparison]
    values = ", ".join(repr(value) for value in present)
    return Evaluation(
        OK,
        f"Threshold Crossed: {len(present)} datapoint(s) [{values}] were not {words} the threshold "
        f"({alarm.threshold!r}).",
        data,
    )


def _crossed(alarm: AlarmRule, periods: int, breaching: list[float], current_state: str) -> str:
    _, words = COMPARISONS[alarm.comparison]
    values = ", ".join(repr(value) for value in breaching)
    return (
        f"Threshold Crossed: {len(breaching)} out of the last {periods} datapoints [{values}] was "
        f"{words} the threshold ({alarm.threshold!r}) (minimum {alarm.datapoints_to_alarm} datapoint "
        f"for {current_state} -> {ALARM} transition)."
    )


def transition(alarm: AlarmRule, datapoints: Sequence[float | None], current_state: str) -> Evaluation | None:
    """The new evaluation when the state changes; None when the alarm stays where it is
    (CloudWatch acts, and records history, only on a change of state)."""
    evaluation = evaluate(alarm, datapoints, current_state)
    return evaluation if evaluation.state != current_state else None


def notification(
    alarm: AlarmRule, old_state: str, evaluation: Evaluation, when: datetime, *, account: str, region: str
) -> dict[str, Any]:
    """The JSON message CloudWatch publishes to an alarm's SNS topic on a change of state
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html)."""
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account,
        "NewStateValue": evaluation.state,
        "NewStateReason": evaluation.reason,
        "StateChangeTime": f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}+0000",
        "Region": region,
        "AlarmArn": alarm.arn,
        "OldStateValue": old_state,
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "Statistic",
            "Statistic": alarm.statistic.upper(),
            "Unit": alarm.unit,
            "Dimensions": [{"value": value, "name": name} for name, value in alarm.dimensions],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data,
            "EvaluateLowSampleCountPercentile": "",
        },
    }
