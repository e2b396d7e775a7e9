"""The stack's alarms evaluate locally: a failing processor puts ``processor-errors`` in ALARM,
the alarm topic gets CloudWatch's notification, and ``s3flow alarms`` shows the state."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from s3flow.cli.main import app
from s3flow.local.pipeline import FlowEvent, LocalPipeline

PROCESSOR = "s3-object-processor-dev"
ALARM_NAME = "s3flow-dev-processor-errors"
ALARM_PERIOD = 10  # seconds: the alarm stays in ALARM this long after the last error


@pytest.fixture
def failing_pipeline(synthesized: Path) -> Iterator[tuple[LocalPipeline, list[FlowEvent]]]:
    flows: list[FlowEvent] = []
    pipeline = LocalPipeline(
        synthesized,
        "TapStackdev",
        port=0,
        concurrency=2,
        on_flow=flows.append,
        retry_delays=(0.1,),
        environment_overrides={PROCESSOR: {"DYNAMODB_TABLE_NAME": "no-such-table"}},
        alarm_period=ALARM_PERIOD,
    )
    pipeline.start()
    try:
        yield pipeline, flows
    finally:
        pipeline.stop()


def client(pipeline: LocalPipeline, service: str) -> Any:
    return boto3.client(service, endpoint_url=pipeline.endpoint_url, region_name="us-east-1")


def subscribe_queue_to_alarm_topic(pipeline: LocalPipeline) -> str:
    sqs, sns = client(pipeline, "sqs"), client(pipeline, "sns")
    url = sqs.create_queue(QueueName="alarm-reader")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if "s3flow-alarms-dev" in t["TopicArn"]]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return url


def alarm_notifications(pipeline: LocalPipeline, url: str, wanted: int = 1) -> list[dict[str, Any]]:
    """The alarm messages on the queue, waiting (bounded) until ``wanted`` have arrived."""
    sqs = client(pipeline, "sqs")
    found: list[dict[str, Any]] = []
    for _ in range(10):  # long polls of 2 s: at most 20 s
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
        found += [json.loads(json.loads(m["Body"])["Message"]) for m in answer.get("Messages", [])]
        if len(found) >= wanted:
            break
    return found


def test_a_failing_processor_puts_its_errors_alarm_in_alarm_and_notifies_the_topic(failing_pipeline, runner):
    pipeline, flows = failing_pipeline
    url = subscribe_queue_to_alarm_topic(pipeline)
    s3 = client(pipeline, "s3")

    # WHEN an upload fails every attempt of the processor
    s3.put_object(Bucket=pipeline.deployment.outputs["S3BucketName"], Key="fails.txt", Body=b"x")
    assert pipeline.wait_idle(30)

    # THEN the alarm topic gets CloudWatch's message for OK -> ALARM
    (message,) = alarm_notifications(pipeline, url)
    assert message["AlarmName"] == ALARM_NAME
    assert (message["OldStateValue"], message["NewStateValue"]) == ("OK", "ALARM")
    # (1 to 3 errors: the attempts may straddle an evaluation)
    assert re.match(
        r"Threshold Crossed: 1 out of the last 1 datapoints \[[123]\.0\]", message["NewStateReason"]
    )
    assert message["Trigger"]["Namespace"] == "AWS/Lambda" and message["Trigger"]["MetricName"] == "Errors"

    # AND the alarm's state and history say so, and local up's flow shows the transition
    cloudwatch = client(pipeline, "cloudwatch")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[ALARM_NAME])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"
    transitions = [f for f in flows if f.kind == "alarm"]
    assert [(f.key, f.detail.split(":")[0]) for f in transitions] == [(ALARM_NAME, "OK -> ALARM")]

    # AND `s3flow alarms` lists it in ALARM, the others OK
    result = runner.invoke(app, ["alarms", "--endpoint-url", pipeline.endpoint_url])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("s3flow-dev-")}
    assert len(lines) == 13
    assert lines[ALARM_NAME].split()[1] == "ALARM"
    assert all(line.split()[1] == "OK" for name, line in lines.items() if name != ALARM_NAME)


def test_without_errors_no_alarm_changes_state(synthesized):
    # GIVEN a healthy pipeline whose alarms are evaluated every couple of seconds
    with LocalPipeline(synthesized, "TapStackdev", port=0, concurrency=1, alarm_period=5) as pipeline:
        evaluator = pipeline.alarms
        assert evaluator is not None
        # WHEN every alarm is evaluated on the metrics (none breaching)
        assert evaluator.evaluate_all() == []
        states = {a["StateValue"] for a in client(pipeline, "cloudwatch").describe_alarms()["MetricAlarms"]}
        # THEN every alarm stays OK
        assert states == {"OK"}
