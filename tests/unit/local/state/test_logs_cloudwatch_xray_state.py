"""Logs, CloudWatch and X-Ray state: log events, metric data, alarm states and trace
segments survive."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from moto import mock_aws

from s3flow.local.state import cloudwatch, logs, xray

from .conftest import ACCOUNT, REGION, client, through_json

GROUP = "/aws/events/processing"


def _events() -> list[tuple[str, int, str]]:
    found = client("logs").filter_log_events(logGroupName=GROUP)["events"]
    return [(event["logStreamName"], event["timestamp"], event["message"]) for event in found]


def test_log_events_come_back_and_a_missing_group_is_created_again():
    now = int(time.time() * 1000)
    with mock_aws():
        logs_client = client("logs")
        logs_client.create_log_group(logGroupName=GROUP)
        logs_client.create_log_stream(logGroupName=GROUP, logStreamName="s1")
        logs_client.put_log_events(
            logGroupName=GROUP,
            logStreamName="s1",
            logEvents=[{"timestamp": now, "message": "one"}, {"timestamp": now + 1, "message": "two"}],
        )
        events = _events()
        saved = through_json(logs.export(ACCOUNT, REGION))

    with mock_aws():  # Lambda's own groups are made on a function's first line: not provisioned
        assert logs.restore(ACCOUNT, REGION, saved) == []

        assert _events() == events
        (stream,) = client("logs").describe_log_streams(logGroupName=GROUP)["logStreams"]
        assert stream["lastEventTimestamp"] == now + 1


def _alarm() -> None:
    client("cloudwatch").put_metric_alarm(
        AlarmName="errors",
        Namespace="S3Flow",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def _statistics() -> list[dict]:
    now = datetime.now(UTC)
    points = client("cloudwatch").get_metric_statistics(
        Namespace="S3Flow",
        MetricName="Errors",
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=["Sum", "SampleCount", "Maximum"],
    )["Datapoints"]
    return [{name: value for name, value in point.items() if name != "Timestamp"} for point in points]


def test_metric_data_and_alarm_states_come_back():
    with mock_aws():
        _alarm()
        metrics = client("cloudwatch")
        metrics.put_metric_data(
            Namespace="S3Flow",
            MetricData=[
                {"MetricName": "Errors", "Value": 2.0, "Unit": "Count"},
                {
                    "MetricName": "Errors",
                    "StatisticValues": {"SampleCount": 2, "Sum": 3.0, "Minimum": 1.0, "Maximum": 2.0},
                    "Unit": "Count",
                },
            ],
        )
        metrics.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="Threshold crossed")
        statistics = _statistics()
        saved = through_json(cloudwatch.export(ACCOUNT, REGION))

    with mock_aws():
        _alarm()
        assert cloudwatch.restore(ACCOUNT, REGION, saved) == []

        assert _statistics() == statistics
        (alarm,) = client("cloudwatch").describe_alarms(AlarmNames=["errors"])["MetricAlarms"]
        assert (alarm["StateValue"], alarm["StateReason"]) == ("ALARM", "Threshold crossed")


def test_trace_segments_come_back():
    now = time.time()
    trace_id = f"1-{int(now):08x}-{'a' * 24}"
    segment = {"name": "processor", "id": "b" * 16, "trace_id": trace_id}
    segment.update(start_time=now, end_time=now + 1)
    with mock_aws():
        client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(segment)])
        saved = through_json(xray.export(ACCOUNT, REGION))

    with mock_aws():
        assert xray.restore(ACCOUNT, REGION, saved) == []

        (trace,) = client("xray").batch_get_traces(TraceIds=[trace_id])["Traces"]
        (document,) = [json.loads(s["Document"]) for s in trace["Segments"]]
        assert document["id"] == segment["id"]
