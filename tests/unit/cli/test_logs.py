"""Reading the functions' log lines: their JSON lines, Lambda's own text lines, levels."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from s3flow.cli.errors import CliError
from s3flow.cli.logs import chosen_functions, chosen_level, format_line, parse_event
from s3flow.local.lambda_.function_logs import at_least

T = 1_764_866_400_000  # 2025-12-04T16:40:00Z in epoch milliseconds


def event(message: str, timestamp: int = T) -> dict[str, object]:
    return {"eventId": "e1", "timestamp": timestamp, "message": message}


def test_a_json_line_keeps_its_level_request_object_and_stack_trace() -> None:
    line = parse_event(
        "processor",
        event(
            json.dumps(
                {
                    "level": "ERROR",
                    "message": "processing step failed",
                    "requestId": "r-1",
                    "bucket": "b",
                    "key": "in/a b.csv",
                    "stackTrace": "Traceback (most recent call last):\n  File x\nValueError: bad header",
                }
            )
        ),
    )
    assert (line.level, line.message, line.request_id, line.subject) == (
        "ERROR",
        "processing step failed",
        "r-1",
        "b/in/a b.csv",
    )
    assert line.timestamp == datetime(2025, 12, 4, 16, 40, tzinfo=UTC)
    shown = format_line(line).splitlines()
    assert shown == [
        "2025-12-04T16:40:00.000Z processor ERROR   processing step failed  [b/in/a b.csv]  (r-1)",
        "    Traceback (most recent call last):",
        "      File x",
        "    ValueError: bad header",
    ]


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("REPORT RequestId: r-1\tDuration: 12.3 ms", "INFO"),
        ("START RequestId: r-1 Version: $LATEST", "INFO"),
        ("[ERROR] Runtime.ImportModuleError: Unable to import module 'handler'", "ERROR"),
        ("Traceback (most recent call last):", "ERROR"),
        ("[WARNING] something", "WARNING"),
        ('{"not": "one of ours"}', "INFO"),
    ],
)
def test_lambdas_own_text_lines_get_a_level(text: str, level: str) -> None:
    line = parse_event("publisher", event(text))
    assert (line.level, line.message) == (level, text)


def test_levels_filter_at_or_above_the_minimum() -> None:
    assert at_least("ERROR", "WARNING") and at_least("WARNING", "WARNING")
    assert not at_least("INFO", "WARNING") and not at_least("DEBUG", "INFO")


def test_bad_choices_are_one_line_errors() -> None:
    assert chosen_functions("all") == ["processor", "publisher"]
    assert chosen_level("warning") == "WARNING"
    with pytest.raises(CliError, match="--function must be processor, publisher or all"):
        chosen_functions("worker")
    with pytest.raises(CliError, match="--level must be one of"):
        chosen_level("LOUD")
