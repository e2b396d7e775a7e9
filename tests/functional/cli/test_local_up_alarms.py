"""``s3flow local up --alarm-period SECONDS``: the stack's alarms evaluate on that period and
``local up`` prints each change of state; ``s3flow alarms`` reads the same state."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from s3flow.cli.main import app

from .local_up_support import local_up


@pytest.mark.e2e
def test_a_message_in_the_failure_queue_puts_its_depth_alarm_in_alarm_and_local_up_prints_it(
    runner, synthesized: Path
):
    # GIVEN `local up` with 5-second alarm periods
    with local_up(synthesized, "--concurrency", "1", "--alarm-period", "5") as run:
        output = run.output
        sqs = boto3.client("sqs", endpoint_url=run.endpoint, region_name="us-east-1")
        queue = sqs.get_queue_url(QueueName="s3-object-processor-failures-dev")["QueueUrl"]

        # WHEN a failed invocation waits in the processor's failure queue
        sqs.send_message(QueueUrl=queue, MessageBody="{}")

        # THEN local up prints the depth alarm going to ALARM, with CloudWatch's reason
        assert output.wait_for("s3flow-dev-failure-queue-depth", 30), output.text
        (line,) = [line for line in output.lines if "s3flow-dev-failure-queue-depth" in line]
        assert "alarm" in line and "OK -> ALARM: Threshold Crossed" in line

        # AND `s3flow alarms` lists it in ALARM
        result = runner.invoke(app, ["alarms", "--endpoint-url", run.endpoint])
        assert result.exit_code == 0, result.output
        (listed,) = [
            row for row in result.output.splitlines() if row.startswith("s3flow-dev-failure-queue-depth")
        ]
        assert listed.split()[1] == "ALARM"
    assert "Traceback" not in output.text
