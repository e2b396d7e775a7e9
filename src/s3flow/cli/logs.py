"""``s3flow logs``: the functions' own log lines, from their log groups, locally or on AWS.

Each function logs to ``/aws/lambda/<function name>``; a line is read by
``s3flow.local.lambda_.function_logs`` (the emulator prints them with the same reading). The
emulator writes the same lines to the same groups, so this reads both the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from s3flow.cli.errors import CliError
from s3flow.cli.target import Target
from s3flow.local.lambda_.function_logs import LEVELS, at_least, parse_log_line

# Which stack output names each function (the choice of --function).
FUNCTION_OUTPUTS = {"processor": "LambdaFunctionName", "publisher": "PublisherFunctionName"}
FOLLOW_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True)
class LogLine:
    timestamp: datetime
    function: str  # processor or publisher
    level: str
    message: str
    request_id: str | None = None
    subject: str | None = None  # bucket/key of the object the line is about
    detail: str | None = None  # a stack trace
    event_id: str = ""


def parse_event(function: str, event: dict[str, Any]) -> LogLine:
    """One CloudWatch Logs event of a function's group as a line to show."""
    entry = parse_log_line(str(event.get("message", "")))
    return LogLine(
        datetime.fromtimestamp(int(event.get("timestamp", 0)) / 1000, UTC),
        function,
        entry.level,
        entry.message,
        request_id=entry.request_id,
        subject=entry.subject,
        detail=entry.stack_trace,
        event_id=str(event.get("eventId", "")),
    )


def log_groups(target: Target, functions: Sequence[str]) -> dict[str, str]:
    """Function (processor/publisher) -> its log group, from the stack's outputs."""
    return {function: f"/aws/lambda/{target.output(FUNCTION_OUTPUTS[function])}" for function in functions}


def _read(logs: Any, group: str, start_ms: int) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    while True:
        try:
            page = logs.filter_log_events(**kwargs)
        except logs.exceptions.ResourceNotFoundException:
            return  # the function has not logged yet: Lambda creates the group on first use
        yield from page.get("events", [])
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]


def fetch_logs(
    target: Target, functions: Sequence[str], start: datetime, minimum: str, seen: set[str] | None = None
) -> list[LogLine]:
    """Every line at or above ``minimum`` since ``start``, oldest first; ``seen`` skips events
    already returned (following)."""
    logs = target.client("logs")
    start_ms = int(start.timestamp() * 1000)
    lines = []
    for function, group in log_groups(target, functions).items():
        for event in _read(logs, group, start_ms):
            line = parse_event(function, event)
            if seen is not None:
                if line.event_id in seen:
                    continue
                seen.add(line.event_id)
            if at_least(line.level, minimum):
                lines.append(line)
    return sorted(lines, key=lambda line: line.timestamp)


def follow(
    target: Target,
    functions: Sequence[str],
    start: datetime,
    minimum: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> Iterator[LogLine]:
    """New lines as they arrive, until interrupted (``rounds`` bounds it for tests)."""
    seen: set[str] = set()
    done = 0
    while rounds is None or done < rounds:
        yield from fetch_logs(target, functions, start, minimum, seen)
        done += 1
        if rounds is None or done < rounds:
            sleep(FOLLOW_INTERVAL_SECONDS)


def chosen_functions(function: str) -> list[str]:
    if function == "all":
        return list(FUNCTION_OUTPUTS)
    if function not in FUNCTION_OUTPUTS:
        raise CliError(f"--function must be processor, publisher or all, not {function!r}")
    return [function]


def chosen_level(level: str) -> str:
    if level.upper() not in LEVELS:
        raise CliError(f"--level must be one of {', '.join(LEVELS)}, not {level!r}")
    return level.upper()


def format_line(line: LogLine) -> str:
    """``<time> <function> <LEVEL> <message> [bucket/key] (request id)``, then the stack trace
    indented: warnings and errors under the object they belong to."""
    when = line.timestamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{line.timestamp.microsecond // 1000:03d}Z"
    text = f"{when} {line.function:<9} {line.level:<7} {line.message}"
    if line.subject:
        text += f"  [{line.subject}]"
    if line.request_id:
        text += f"  ({line.request_id})"
    if line.detail:
        text += "\n" + "\n".join(f"    {row}" for row in line.detail.rstrip("\n").splitlines())
    return text
