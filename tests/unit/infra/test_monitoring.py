"""Alarms, their SNS topic and the flow dashboard."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from s3flow import contract
from s3flow.infra.monitoring import Monitoring
from s3flow.infra.stack import resolve_alarm_email

from .conftest import Synthesized


def _dashboard_body(template: Template) -> dict[str, Any]:
    """The dashboard JSON with every CloudFormation token replaced by a readable marker."""
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    return json.loads(text)


def _alarm(template: Template, name: str) -> dict[str, Any]:
    alarms = template.find_resources("AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": name}})
    assert len(alarms) == 1, name
    (alarm,) = alarms.values()
    return alarm["Properties"]


def test_alarm_topic_is_kms_encrypted_ssl_only_and_has_no_subscription_by_default(
    synthesized: Synthesized, template: Template
) -> None:
    monitoring = synthesized.stack.monitoring
    key_id = synthesized.logical_id(monitoring.topic_key)
    topic_id = synthesized.logical_id(monitoring.topic)
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": "s3flow-alarms-dev", "KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}},
    )
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": topic_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            },
        },
    )
    template.resource_count_is("AWS::SNS::Subscription", 0)


def test_cloudwatch_may_use_the_topic_key(template: Template) -> None:
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            }
                        )
                    ]
                )
            }
        },
    )


@pytest.mark.parametrize(
    ("name", "namespace", "metric", "threshold"),
    [
        ("s3flow-dev-processor-errors", "AWS/Lambda", "Errors", 1),
        ("s3flow-dev-processor-throttles", "AWS/Lambda", "Throttles", 1),
        ("s3flow-dev-record-errors", contract.METRICS_NAMESPACE, contract.METRIC_PROCESSING_ERRORS, 1),
        ("s3flow-dev-failure-queue-depth", "AWS/SQS", "ApproximateNumberOfMessagesVisible", 1),
        ("s3flow-dev-failure-queue-oldest-age", "AWS/SQS", "ApproximateAgeOfOldestMessage", 86400),
        ("s3flow-dev-event-dlq-depth", "AWS/SQS", "ApproximateNumberOfMessagesVisible", 1),
        ("s3flow-dev-publisher-errors", "AWS/Lambda", "Errors", 1),
        ("s3flow-dev-publisher-iterator-age", "AWS/Lambda", "IteratorAge", 5 * 60 * 1000),
        ("s3flow-dev-publisher-failure-queue-depth", "AWS/SQS", "ApproximateNumberOfMessagesVisible", 1),
        (
            "s3flow-dev-unpublishable-records",
            contract.METRICS_NAMESPACE,
            contract.METRIC_UNPUBLISHABLE_RECORDS,
            1,
        ),
        ("s3flow-dev-SuccessEventRule-failed-invocations", "AWS/Events", "FailedInvocations", 1),
        ("s3flow-dev-ErrorEventRule-failed-invocations", "AWS/Events", "FailedInvocations", 1),
    ],
)
def test_alarm_watches_its_metric_and_notifies_the_topic(
    synthesized: Synthesized, template: Template, name: str, namespace: str, metric: str, threshold: int
) -> None:
    alarm = _alarm(template, name)
    topic = {"Ref": synthesized.logical_id(synthesized.stack.monitoring.topic)}
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (namespace, metric, threshold)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [topic]
    assert alarm["OKActions"] == [topic]
    assert len(alarm["AlarmDescription"]) > 30


def test_alarms_point_at_the_stack_resources(synthesized: Synthesized, template: Template) -> None:
    stack = synthesized.stack
    function = {"Name": "FunctionName", "Value": {"Ref": synthesized.logical_id(stack.processing.function)}}
    failure_queue = {
        "Name": "QueueName",
        "Value": {"Fn::GetAtt": [synthesized.logical_id(stack.processing.failure_queue), "QueueName"]},
    }
    dlq = {
        "Name": "QueueName",
        "Value": {"Fn::GetAtt": [synthesized.logical_id(stack.events.dead_letter_queue), "QueueName"]},
    }
    assert _alarm(template, "s3flow-dev-processor-errors")["Dimensions"] == [function]
    assert _alarm(template, "s3flow-dev-processor-throttles")["Dimensions"] == [function]
    assert _alarm(template, "s3flow-dev-failure-queue-depth")["Dimensions"] == [failure_queue]
    assert _alarm(template, "s3flow-dev-failure-queue-oldest-age")["Dimensions"] == [failure_queue]
    assert _alarm(template, "s3flow-dev-event-dlq-depth")["Dimensions"] == [dlq]
    publisher = {"Name": "FunctionName", "Value": {"Ref": synthesized.logical_id(stack.publishing.function)}}
    publisher_queue = {
        "Name": "QueueName",
        "Value": {"Fn::GetAtt": [synthesized.logical_id(stack.publishing.failure_queue), "QueueName"]},
    }
    assert _alarm(template, "s3flow-dev-publisher-errors")["Dimensions"] == [publisher]
    assert _alarm(template, "s3flow-dev-publisher-iterator-age")["Dimensions"] == [publisher]
    assert _alarm(template, "s3flow-dev-publisher-failure-queue-depth")["Dimensions"] == [publisher_queue]
    assert _alarm(template, "s3flow-dev-record-errors")["Dimensions"] == [
        {"Name": contract.METRICS_DIMENSION_ENVIRONMENT, "Value": "dev"}
    ]
    rule_alarm = _alarm(template, "s3flow-dev-SuccessEventRule-failed-invocations")
    assert rule_alarm["Dimensions"] == [
        {"Name": "EventBusName", "Value": {"Ref": synthesized.logical_id(stack.events.bus)}},
        {
            "Name": "RuleName",
            "Value": {
                "Fn::Select": [
                    1,
                    {"Fn::Split": ["|", {"Ref": synthesized.logical_id(stack.events.success_rule)}]},
                ]
            },
        },
    ]


def test_publisher_iterator_age_alarm_takes_the_maximum_not_the_average(template: Template) -> None:
    # One shard stuck behind a failing batch must page even when the others keep up.
    alarm = _alarm(template, "s3flow-dev-publisher-iterator-age")
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Maximum", 300, 1)


def test_dashboard_shows_the_flow_failures_latency_event_lag_and_alarms(template: Template) -> None:
    template.has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": "s3flow-dev"})
    widgets = _dashboard_body(template)["widgets"]
    titles = [widget["properties"].get("title") for widget in widgets]
    assert titles == [
        "Objects in",
        "Records written",
        "Events routed",
        "Failures",
        "Latency",
        "Event lag",
        "Alarms",
    ]
    alarm_widget = widgets[-1]["properties"]
    assert len(alarm_widget["alarms"]) == len(template.find_resources("AWS::CloudWatch::Alarm")) == 13
    lag = widgets[titles.index("Event lag")]["properties"]
    assert [metric[:2] for metric in lag["metrics"]] == [["AWS/Lambda", "IteratorAge"]]
    assert lag["annotations"]["horizontal"][0]["value"] == 5 * 60 * 1000


def test_dashboard_shows_the_publisher_beside_the_processor(template: Template) -> None:
    widgets = {w["properties"].get("title"): w["properties"] for w in _dashboard_body(template)["widgets"]}
    labels = {
        title: {
            str(metric[-1].get("label"))
            for metric in widget.get("metrics", [])
            if isinstance(metric[-1], dict)
        }
        for title, widget in widgets.items()
    }
    assert "Publisher invocations" in labels["Events routed"]
    assert {"Publisher errors", "Publisher failure queue"} <= labels["Failures"]


def test_dashboard_reads_the_processor_emf_metrics_by_environment(template: Template) -> None:
    metrics = [
        metric
        for widget in _dashboard_body(template)["widgets"]
        for metric in widget["properties"].get("metrics", [])
        if metric[0] == contract.METRICS_NAMESPACE
    ]
    names = {metric[1] for metric in metrics}
    assert names == {
        contract.METRIC_OBJECTS_PROCESSED,
        contract.METRIC_DUPLICATES_SKIPPED,
        contract.METRIC_BYTES_PROCESSED,
        contract.METRIC_EVENTS_PUBLISHED,
        contract.METRIC_PROCESSING_ERRORS,
        contract.METRIC_PROCESSING_LATENCY,
    }
    for metric in metrics:
        assert metric[2:4] == [contract.METRICS_DIMENSION_ENVIRONMENT, "dev"]
    assert contract.METRICS_NAMESPACE == "S3Flow"


def _monitoring_only(alarm_email: str | None) -> Template:
    # A small stack of stand-ins: no asset bundling, so the email cases stay cheap.
    stack = cdk.Stack(cdk.App(), "MonitoringProbe")
    function = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )
    bus = events.EventBus(stack, "Bus")
    success, error = (
        events.Rule(stack, name, event_bus=bus, event_pattern=events.EventPattern(source=["x"]))
        for name in ("SuccessRule", "ErrorRule")
    )
    Monitoring(
        stack,
        "Monitoring",
        environment_suffix="probe",
        processing=SimpleNamespace(function=function, failure_queue=sqs.Queue(stack, "Failures")),
        publishing=SimpleNamespace(function=function, failure_queue=sqs.Queue(stack, "PublisherFailures")),
        event_routing=SimpleNamespace(
            bus=bus, dead_letter_queue=sqs.Queue(stack, "Dlq"), success_rule=success, error_rule=error
        ),
        alarm_email=alarm_email,
    )
    return Template.from_stack(stack)


def test_alarm_email_subscribes_to_the_topic() -> None:
    template = _monitoring_only("oncall@example.com")
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )


def test_no_alarm_email_means_no_subscription() -> None:
    _monitoring_only(None).resource_count_is("AWS::SNS::Subscription", 0)


def test_alarm_email_comes_from_prop_then_context_else_none() -> None:
    with_context = cdk.Stack(cdk.App(context={"alarmEmail": "ctx@example.com"}), "Probe")
    without = cdk.Stack(cdk.App(), "Probe")
    assert resolve_alarm_email(with_context, "prop@example.com") == "prop@example.com"
    assert resolve_alarm_email(with_context, None) == "ctx@example.com"
    assert resolve_alarm_email(without, None) is None
