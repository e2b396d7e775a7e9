"""Rich tables for what the commands read; no I/O beyond the console."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from s3flow import contract
from s3flow.cli.publish_failures import FailedBatch
from s3flow.cli.queries import FailedInvocation, RoutedEvent
from s3flow.cli.traces import Timeline, TraceSummary
from s3flow.cli.uploads import Uploaded
from s3flow.functions.processor.items import FAILED_STEP
from s3flow.functions.shared.dynamodb_json import to_json

BAR_WIDTH = 30
STEPS_WIDTH = 48
STATUS_STYLE = {"SUCCESS": "green", "ERROR": "red"}
STEPS = contract.STEPS_ATTRIBUTE


def console(stderr: bool = False) -> Console:
    # Wide enough for keys and version ids when output is piped or captured.
    wide_enough = Console().is_terminal or os.environ.get("COLUMNS")
    return Console(stderr=stderr, width=None if wide_enough else 160, highlight=False)


@contextmanager
def step(out: Console, message: str) -> Iterator[None]:
    """A spinner on a terminal; otherwise (CI logs, pipes) one line saying what is going on."""
    if out.is_terminal:
        with out.status(message):
            yield
    else:
        out.print(message)
        yield


def _status(value: Any) -> Text:
    text = str(value or "")
    return Text(text, style=STATUS_STYLE.get(text.upper(), ""))


def short(value: Any, width: int = 12) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def uploads_table(uploaded: list[Uploaded]) -> Table:
    table = Table(title="uploaded", title_justify="left")
    table.add_column("key", overflow="fold")
    table.add_column("version id", overflow="fold")
    table.add_column("bytes", justify="right")
    for item in uploaded:
        parts = f" ({item.parts} parts)" if item.parts else ""
        table.add_row(item.key, item.version_id or "-", f"{item.size:,}{parts}")
    return table


def records_table(items: list[dict[str, Any]], title: str = "records") -> Table:
    """One row per record; a ``steps`` column when a record has step fields or a failed step."""
    with_steps = any(STEPS in item or FAILED_STEP in item for item in items)
    table = Table(title=f"{title} ({len(items)})", title_justify="left")
    for name, justify in (
        ("timestamp", "left"),
        ("status", "left"),
        ("key", "left"),
        ("version id", "left"),
        ("bytes", "right"),
        *((("steps", "left"),) if with_steps else ()),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for item in items:
        row: list[str | Text] = [
            str(item.get("timestamp", "")),
            _status(item.get("status")),
            str(item.get("objectKey") or item.get("errorMessage") or ""),
            str(item.get("versionId") or "-"),
            f"{int(item['size']):,}" if item.get("size") is not None else "",
        ]
        if with_steps:
            row.append(steps_summary(item))
        table.add_row(*row)
    return table


def steps_summary(item: dict[str, Any], width: int = STEPS_WIDTH) -> Text:
    """The record's step fields as compact JSON, cut to ``width``; or the step that failed."""
    if FAILED_STEP in item:
        return Text(f"failed: {item[FAILED_STEP]}", style="red")
    return Text(short(to_json(item[STEPS]), width) if STEPS in item else "")


def json_lines(documents: Iterable[Any]) -> Iterator[str]:
    """JSON Lines: each document compact on one line, keys sorted, numbers exact (DynamoDB's
    Decimals as the event detail has them)."""
    return (to_json(document) for document in documents)


def pretty_json(value: Any, level: int = 0) -> str:
    """Indented JSON (two spaces), keys sorted and numbers exact, for reading."""
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, dict) and value:
        members = (f"{inner}{to_json(name)}: {pretty_json(value[name], level + 1)}" for name in sorted(value))
        return "{\n" + ",\n".join(members) + f"\n{pad}}}"
    if isinstance(value, list | tuple | set | frozenset) and value:
        members = (f"{inner}{pretty_json(member, level + 1)}" for member in value)
        return "[\n" + ",\n".join(members) + f"\n{pad}]"
    return to_json(value)


def events_table(events: list[RoutedEvent], title: str = "events in the log group") -> Table:
    table = Table(title=f"{title} ({len(events)})", title_justify="left")
    for name in ("received", "status", "key", "version id", "bytes / error"):
        table.add_column(name, overflow="fold")
    for event in events:
        when = datetime.fromtimestamp(event.timestamp_ms / 1000, tz=UTC).isoformat(timespec="seconds")
        detail = event.detail
        extra = detail.get("errorMessage") or detail.get("size", "")
        table.add_row(
            when.replace("+00:00", "Z"),
            _status(detail.get("status", "?")),
            str(detail["objectKey"]) if "objectKey" in detail else short(event.raw, 80),
            str(detail.get("versionId") or "-"),
            str(extra),
        )
    return table


def failures_table(failures: list[FailedInvocation]) -> Table:
    table = Table(title=f"failure queue ({len(failures)})", title_justify="left")
    for name in ("message id", "condition", "keys", "error"):
        table.add_column(name, overflow="fold")
    for failure in failures:
        table.add_row(
            short(failure.message_id, 14),
            failure.condition or "-",
            ", ".join(failure.keys) or "-",
            short(failure.error_message, 80),
        )
    return table


def failed_batches_table(batches: list[FailedBatch]) -> Table:
    table = Table(title=f"publisher failure queue ({len(batches)})", title_justify="left")
    for name in ("message id", "condition", "records", "sequence numbers", "first record arrived"):
        table.add_column(name, overflow="fold")
    for batch in batches:
        start, end = batch.sequence_range
        table.add_row(
            short(batch.message_id, 14),
            batch.condition or "-",
            str(batch.size),
            f"{start}..{end}",
            batch.first_arrival or "-",
        )
    return table


def trace_list_table(summaries: list[TraceSummary], timelines: dict[str, Timeline] | None = None) -> Table:
    """Recent traces; with their timelines, also when they started, how long and what they did."""
    timelines = timelines or {}
    table = Table(title=f"traces ({len(summaries)})", title_justify="left")
    for name, justify in (("trace id", "left"), ("key", "left"), ("started", "left"), ("ms", "right"),
                          ("spans", "left"), ("error", "left")):  # fmt: skip
        table.add_column(name, justify=justify, overflow="fold", min_width=35 if name == "trace id" else None)  # type: ignore[arg-type]
    for summary in summaries:
        flag = "fault" if summary.has_fault else "error" if summary.has_error else ""
        timeline = timelines.get(summary.trace_id)
        if timeline and timeline.spans:
            started = datetime.fromtimestamp(timeline.start, tz=UTC).isoformat(timespec="seconds")
            duration = f"{(timeline.end - timeline.start) * 1000:.0f}"
            kinds = ", ".join(k for k in ("processing", "dynamodb", "eventbridge") if k in timeline.kinds)
            spans = f"{len(timeline.spans)} ({kinds})" if kinds else str(len(timeline.spans))
        else:
            started, duration, spans = "", f"{summary.duration_s * 1000:.0f}", ""
        keys = timeline.object_keys if timeline else []
        key = f"{keys[0]} (+{len(keys) - 1})" if len(keys) > 1 else keys[0] if keys else ""
        table.add_row(
            summary.trace_id,
            Text(key),
            started.replace("+00:00", "Z"),
            duration,
            spans,
            Text(flag, style="red"),
        )
    return table


def timeline_table(timeline: Timeline) -> Group:
    """One row per span (indented name, offset, duration, a bar on the trace's time axis),
    then each span's annotations on lines of their own."""
    start, total = timeline.start, max(timeline.end - timeline.start, 1e-6)
    table = Table(title=f"trace {timeline.trace_id}", title_justify="left")
    table.add_column("span", no_wrap=True)
    table.add_column("kind")
    table.add_column("at ms", justify="right")
    table.add_column("ms", justify="right")
    table.add_column("timeline", no_wrap=True)
    notes: list[Text] = []
    for span in timeline.spans:
        end = span.end if span.end is not None else timeline.end
        left = int((span.start - start) / total * BAR_WIDTH)
        width = max(1, round((end - span.start) / total * BAR_WIDTH))
        bar = Text(" " * left + "█" * min(width, BAR_WIDTH - left), style="red" if span.error else "cyan")
        table.add_row(
            "  " * span.depth + span.name,
            span.kind if span.kind != "other" else "",
            f"{(span.start - start) * 1000:.1f}",
            f"{span.duration_ms:.1f}" if span.duration_ms is not None else "…",
            bar,
        )
        if span.annotations:
            pairs = "  ".join(f"{k}={v}" for k, v in span.annotations.items())
            notes.append(Text(f"  {span.name}: {pairs}", overflow="fold"))
    if notes:
        notes.insert(0, Text("annotations", style="bold"))
    return Group(table, *notes)
