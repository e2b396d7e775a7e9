"""``--since`` / ``--until`` values: ISO-8601 instants, dates, ``now``, or ``-1h``-style offsets."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from s3flow.cli.errors import CliError

_OFFSET = re.compile(r"^-?(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(value: str, *, now: datetime | None = None) -> datetime:
    """A time-zone aware UTC instant; naive ISO values are taken as UTC."""
    now = now or datetime.now(UTC)
    text = value.strip()
    if text.lower() == "now":
        return now
    match = _OFFSET.match(text.lower())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise CliError(
            f"cannot read time {value!r}: use ISO-8601 (2026-11-25T08:00:00Z), a date, `now`,"
            " or an offset (-30m, -1h, -2d)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def parse_range(since: str, until: str, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or datetime.now(UTC)
    start, end = parse_when(since, now=now), parse_when(until, now=now)
    if end < start:
        raise CliError(f"--until ({end.isoformat()}) is before --since ({start.isoformat()})")
    return start, end
