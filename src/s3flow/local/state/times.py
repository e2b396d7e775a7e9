"""moto keeps its times as naive UTC datetimes; the state keeps them as epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload


def epoch(moment: Any) -> float | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return float(moment)


@overload
def naive_utc(seconds: float) -> datetime: ...
@overload
def naive_utc(seconds: None) -> None: ...
def naive_utc(seconds: float | None) -> datetime | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
