"""``--since`` / ``--until`` values: ISO-8601 instants, dates, ``now``, or ``-1h``-style offsets."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from s3flow.cli.errors import CliError

_OFFSET = re.compile(r"^-?(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

# CloudWatch Logs takes times as milliseconds after 1970-01-01T00:00:00Z, never below 0
# (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html);
# the last second Python's datetime holds is the other end.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def _out_of_range(option: str, value: str) -> CliError:
    return CliError(
        f"{option} {value!r} is out of range: use a time from {EARLIEST:%Y-%m-%dT%H:%M:%SZ}"
        f" to {LATEST:%Y-%m-%dT%H:%M:%SZ}"
    )


def _read(text: str, now: datetime) -> datetime | None:
    """The instant ``text`` names, or None if it names none; OverflowError if beyond datetime."""
    if text.lower() == "now":
        return now
    match = _OFFSET.match(text.lower())
    if match:
        try:
            amount = int(match.group(1))
        except ValueError:  # more digits than int() reads: no offset that long is in range
            raise OverflowError(text) from None
        return now - timedelta(**{_UNITS[match.group(2)]: amount})
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def parse_when(value: str, *, now: datetime | None = None, option: str = "time") -> datetime:
    """A time-zone aware UTC instant from EARLIEST to LATEST; naive ISO values are taken as UTC."""
    try:
        when = _read(value.strip(), now or datetime.now(UTC))
    except OverflowError:
        raise _out_of_range(option, value) from None
    if when is None:
        raise CliError(
            f"cannot read time {value!r}: use ISO-8601 (2026-11-25T08:00:00Z), a date, `now`,"
            " or an offset (-30m, -1h, -2d)"
        )
    if not EARLIEST <= when <= LATEST:
        raise _out_of_range(option, value)
    return when


def parse_range(since: str, until: str, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or datetime.now(UTC)
    start, end = parse_when(since, now=now, option="--since"), parse_when(until, now=now, option="--until")
    if end < start:
        raise CliError(f"--until ({end.isoformat()}) is before --since ({start.isoformat()})")
    return start, end
