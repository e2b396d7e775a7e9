"""What one line of a function's log says: its level, message, the object it is about and
its stack trace. Read the same way by ``local up`` (as each line is written) and by
``s3flow logs`` (from the log groups, locally or on AWS).

The functions write JSON lines (``level``, ``message``, ``requestId``; ``bucket``/``key``/
``versionId`` on lines about one object; ``stackTrace`` with an exception). Lambda adds its
own text lines (``START``/``END``/``REPORT``, and ``[ERROR]`` lines with the traceback of an
unhandled failure or a failed init):
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class LogEntry:
    level: str
    message: str
    request_id: str | None = None
    bucket: str | None = None
    key: str | None = None
    version_id: str | None = None
    stack_trace: str | None = None

    @property
    def subject(self) -> str | None:
        return f"{self.bucket}/{self.key}" if self.bucket and self.key else None


def _text_level(text: str) -> str:
    """Lambda's own text lines: an unhandled failure is ERROR, START/END/REPORT are INFO."""
    if text.startswith("[ERROR]") or text.startswith("Traceback") or "Runtime." in text:
        return "ERROR"
    if text.startswith("[WARNING]"):
        return "WARNING"
    return "INFO"


def parse_log_line(text: str) -> LogEntry:
    text = text.rstrip("\n")
    try:
        entry = json.loads(text)
    except ValueError:
        entry = None
    if not isinstance(entry, dict) or "message" not in entry:
        return LogEntry(_text_level(text), text)

    def optional(name: str) -> str | None:
        value = entry.get(name)
        return None if value is None else str(value)

    return LogEntry(
        str(entry.get("level", "INFO")).upper(),
        str(entry["message"]),
        request_id=optional("requestId"),
        bucket=optional("bucket"),
        key=optional("key"),
        version_id=optional("versionId"),
        stack_trace=optional("stackTrace"),
    )


def at_least(level: str, minimum: str) -> bool:
    rank = {name: index for index, name in enumerate(LEVELS)}
    return rank.get(level, rank["INFO"]) >= rank[minimum]
