"""``s3flow local up --alarm-period SECONDS``: the stack's alarms evaluate on that period and
``local up`` prints each change of state; ``s3flow alarms`` reads the same state."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import boto3
import pytest

from s3flow.cli.main import app

from .conftest import free_port
from .test_local_up import S3FLOW, Lines


@pytest.mark.e2e
def test_a_message_in_the_failure_queue_puts_its_depth_alarm_in_alarm_and_local_up_prints_it(
    runner, synthesized: Path
):
    # GIVEN `local up` with 5-second alarm periods
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [*S3FLOW, "local", "up", "--port", str(port), "--cdk-out", str(synthesized)]
    process = subprocess.Popen(
        [*command, "--concurrency", "1", "--alarm-period", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    output = Lines(process)
    try:
        assert output.wait_for("stop with Ctrl-C", 120), output.text
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
        queue = sqs.get_queue_url(QueueName="s3-object-processor-failures-dev")["QueueUrl"]

        # WHEN a failed invocation waits in the processor's failure queue
        sqs.send_message(QueueUrl=queue, MessageBody="{}")

        # THEN local up prints the depth alarm going to ALARM, with CloudWatch's reason
        assert output.wait_for("s3flow-dev-failure-queue-depth", 30), output.text
        (line,) = [line for line in output.lines if "s3flow-dev-failure-queue-depth" in line]
        assert "alarm" in line and "OK -> ALARM: Threshold Crossed" in line

        # AND `s3flow alarms` lists it in ALARM
        result = runner.invoke(app, ["alarms", "--endpoint-url", endpoint])
        assert result.exit_code == 0, result.output
        (listed,) = [
            row for row in result.output.splitlines() if row.startswith("s3flow-dev-failure-queue-depth")
        ]
        assert listed.split()[1] == "ALARM"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert "Traceback" not in output.text
