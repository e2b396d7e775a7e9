"""What `local up` shows of the functions' own log lines: warnings and errors, under the
object they are about, with the stack trace beneath."""

from __future__ import annotations

import json

from s3flow.local.pipeline import FlowEvent, FlowKind, _FlowReporter


def heard(*lines: tuple[str, str]) -> list[FlowEvent]:
    events: list[FlowEvent] = []
    reporter = _FlowReporter(events.append)
    for function, line in lines:
        reporter.logged(function, line)
    return events


def test_a_warning_about_an_object_is_shown_under_it_with_its_trace() -> None:
    line = json.dumps(
        {
            "level": "ERROR",
            "message": "processing step failed",
            "bucket": "b",
            "key": "in/bad.csv",
            "versionId": "v1",
            "stackTrace": "Traceback (most recent call last):\nValueError: bad header",
        }
    )
    (event,) = heard(("s3-object-processor-dev", line))
    assert (event.kind, event.bucket, event.key) == (FlowKind.LOGGED, "b", "in/bad.csv")
    assert event.version_id == "v1"
    assert event.detail.splitlines() == [
        "s3-object-processor-dev ERROR: processing step failed",
        "    Traceback (most recent call last):",
        "    ValueError: bad header",
    ]


def test_info_lines_and_lambdas_report_lines_are_not_shown_but_its_errors_are() -> None:
    events = heard(
        ("fn", json.dumps({"level": "INFO", "message": "record written"})),
        ("fn", "REPORT RequestId: r\tDuration: 1.00 ms"),
        ("fn", "[ERROR] Runtime.ImportModuleError: Unable to import module 'h': No module named 'x'"),
    )
    shown = [(e.kind, e.key, e.detail.split(": ", 1)[0]) for e in events]
    assert shown == [(FlowKind.LOGGED, "", "fn ERROR")]
