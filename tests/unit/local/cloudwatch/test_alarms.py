"""Alarm evaluation rules, as CloudWatch applies them (pure: datapoints in, state out)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from s3flow.local.cloudwatch.alarms import AlarmRule, evaluate, notification, transition


def rule(**overrides: object) -> AlarmRule:
    base = {
        "AlarmName": "s3flow-dev-processor-errors",
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:s3flow-dev-processor-errors",
        "AlarmDescription": "The processor raised.",
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Statistic": "Sum",
        "Dimensions": [{"Name": "FunctionName", "Value": "s3-object-processor-dev"}],
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "ActionsEnabled": True,
        "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:s3flow-alarms-dev"],
        "OKActions": ["arn:aws:sns:us-east-1:123456789012:s3flow-alarms-dev"],
    }
    base.update(overrides)
    alarm = AlarmRule.from_description(base)
    assert alarm is not None
    return alarm


def test_a_datapoint_at_the_threshold_breaches_greater_than_or_equal():
    assert evaluate(rule(), [1.0], "OK").state == "ALARM"
    assert evaluate(rule(), [0.0], "ALARM").state == "OK"


def test_each_comparison_operator_compares_the_datapoint_with_the_threshold():
    assert evaluate(rule(ComparisonOperator="GreaterThanThreshold"), [1.0], "OK").state == "OK"
    assert evaluate(rule(ComparisonOperator="GreaterThanThreshold"), [1.5], "OK").state == "ALARM"
    assert evaluate(rule(ComparisonOperator="LessThanThreshold"), [0.5], "OK").state == "ALARM"
    assert evaluate(rule(ComparisonOperator="LessThanThreshold"), [1.0], "OK").state == "OK"
    assert evaluate(rule(ComparisonOperator="LessThanOrEqualToThreshold"), [1.0], "OK").state == "ALARM"


def test_missing_data_not_breaching_is_within_the_threshold():
    evaluation = evaluate(rule(), [None], "ALARM")
    assert evaluation.state == "OK"
    assert "missing" in evaluation.reason and "NonBreaching" in evaluation.reason


def test_missing_data_breaching_missing_and_ignore():
    assert evaluate(rule(TreatMissingData="breaching"), [None], "OK").state == "ALARM"
    assert evaluate(rule(TreatMissingData="missing"), [None], "OK").state == "INSUFFICIENT_DATA"
    assert evaluate(rule(TreatMissingData="ignore"), [None], "ALARM").state == "ALARM"
    assert evaluate(rule(TreatMissingData="ignore"), [None], "OK").state == "OK"


def test_m_out_of_n_needs_datapoints_to_alarm_breaching_ones():
    two_of_three = rule(EvaluationPeriods=3, DatapointsToAlarm=2)
    assert evaluate(two_of_three, [5.0, 0.0, None], "OK").state == "OK"
    assert evaluate(two_of_three, [5.0, None, 3.0], "OK").state == "ALARM"


def test_the_reason_names_the_breaching_datapoints_and_the_threshold():
    reason = evaluate(rule(), [3.0], "OK").reason
    assert reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [3.0]")
    assert "greater than or equal to the threshold (1.0)" in reason


def test_a_transition_only_when_the_state_changes():
    assert transition(rule(), [3.0], "ALARM") is None
    assert transition(rule(), [None], "OK") is None
    changed = transition(rule(), [3.0], "OK")
    assert changed is not None and changed.state == "ALARM"


def test_alarms_this_evaluator_cannot_evaluate_are_left_out():
    assert AlarmRule.from_description({**_described(), "Metrics": [{"Id": "m1"}]}) is None
    assert AlarmRule.from_description({**_described(), "ExtendedStatistic": "p99", "Statistic": None}) is None


def _described() -> dict[str, object]:
    return {
        "AlarmName": "a",
        "Namespace": "S3Flow",
        "MetricName": "ProcessingErrors",
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }


def test_the_notification_has_cloudwatchs_message_shape():
    alarm = rule()
    evaluation = evaluate(alarm, [2.0], "OK")
    when = datetime(2026, 12, 4, 17, 50, 1, 123000, tzinfo=UTC)
    message = notification(alarm, "OK", evaluation, when, account="123456789012", region="us-east-1")
    assert message["AlarmName"] == "s3flow-dev-processor-errors"
    assert message["AlarmDescription"] == "The processor raised."
    assert message["AWSAccountId"] == "123456789012"
    assert (message["OldStateValue"], message["NewStateValue"]) == ("OK", "ALARM")
    assert message["NewStateReason"] == evaluation.reason
    assert message["StateChangeTime"] == "2026-12-04T17:50:01.123+0000"
    assert message["AlarmArn"] == alarm.arn
    trigger = message["Trigger"]
    assert trigger["MetricName"] == "Errors" and trigger["Namespace"] == "AWS/Lambda"
    assert trigger["Statistic"] == "SUM"
    assert trigger["Dimensions"] == [{"value": "s3-object-processor-dev", "name": "FunctionName"}]
    assert (trigger["Period"], trigger["EvaluationPeriods"], trigger["Threshold"]) == (300, 1, 1.0)
    assert trigger["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert trigger["TreatMissingData"] == "notBreaching"
    json.dumps(message)  # what SNS carries is the JSON text of it
