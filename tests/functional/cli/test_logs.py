"""``s3flow logs`` reads the functions' log groups, as on AWS (here: the module's fake stack)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from s3flow.cli.logs import follow
from s3flow.cli.main import app
from s3flow.cli.target import resolve_target

GROUP = "/aws/lambda/cli-processor"  # the fake stack's LambdaFunctionName is cli-processor


def _put(fake_stack, *messages: str) -> None:
    logs = fake_stack.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]:
        logs.create_log_group(logGroupName=GROUP)
        logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
    now = int(time.time() * 1000)
    events = [{"timestamp": now + index, "message": message} for index, message in enumerate(messages)]
    logs.put_log_events(logGroupName=GROUP, logStreamName="s", logEvents=events)


def test_logs_show_the_functions_lines_at_or_above_a_level_with_their_traces(fake_stack, runner):
    # GIVEN a processor that logged a success, a failing step with its trace, and Lambda's report
    _put(
        fake_stack,
        json.dumps({"level": "INFO", "message": "record written", "requestId": "r-1"}),
        json.dumps(
            {
                "level": "ERROR",
                "message": "processing step failed",
                "requestId": "r-2",
                "bucket": "cli-bucket",
                "key": "bad.csv",
                "stackTrace": "Traceback (most recent call last):\nValueError: bad header",
            }
        ),
        "REPORT RequestId: r-2\tDuration: 3.1 ms",
    )

    # WHEN warnings and errors of the processor are asked for
    result = runner.invoke(app, ["logs", "--function", "processor", "--level", "warning", *fake_stack.args])

    # THEN only the error shows, under its object, its trace indented beneath it
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("processor ERROR   processing step failed  [cli-bucket/bad.csv]  (r-2)")
    assert lines[1:] == ["    Traceback (most recent call last):", "    ValueError: bad header"]


def test_follow_prints_each_new_line_once(fake_stack):
    target = resolve_target(fake_stack.args[3], fake_stack.endpoint_url, None)
    start = datetime.now(UTC)  # after what earlier tests logged
    _put(fake_stack, json.dumps({"level": "WARNING", "message": "first"}))

    def more(_seconds: float) -> None:  # what arrives between two reads
        _put(fake_stack, json.dumps({"level": "WARNING", "message": "second"}))

    shown = [line.message for line in follow(target, ["processor"], start, "WARNING", sleep=more, rounds=2)]

    assert shown == ["first", "second"]


def test_a_bad_level_is_one_line(fake_stack, runner):
    result = runner.invoke(app, ["logs", "--level", "LOUD", *fake_stack.args])
    assert result.exit_code != 0
    assert result.output.strip().splitlines()[-1].startswith("error: --level must be one of")
