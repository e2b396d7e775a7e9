"""``show``: one object's record with its step fields, the events announcing it, and its trace.

The record is found as the processor keys it: its object id (bucket, key and version id,
``records.object_id``), read with one ``Query`` on the table's partition key, whatever its
event time. Without ``--version-id``, the key's newest version is the one S3 lists first.
Events come from the event log group (a filter on the record's ``requestId``), the trace from
X-Ray (the record's ``xrayTraceId``): the same calls locally and on AWS.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from s3flow import contract
from s3flow.cli import render
from s3flow.cli.backfill import list_versions
from s3flow.cli.errors import CliError
from s3flow.cli.options import EndpointOption, RegionOption, StackOption
from s3flow.cli.queries import RoutedEvent, fetch_events, object_records
from s3flow.cli.target import Target, resolve_target
from s3flow.cli.traces import Timeline, get_timelines
from s3flow.functions.processor.records import object_id
from s3flow.functions.shared.observability.trace_header import trace_root

# Events are published after their record is written; a minute before the record's event
# time covers clocks that disagree.
EVENTS_BEFORE_RECORD = timedelta(minutes=1)
# The record's own attributes first, in this order; the rest by name, then the step fields.
LEADING = (
    "status",
    "bucketName",
    "objectKey",
    "versionId",
    "size",
    "eTag",
    "eventName",
    "eventTime",
    "processedAt",
    contract.TABLE_PARTITION_KEY,
    contract.TABLE_SORT_KEY,
)


@dataclass
class ObjectView:
    """What the pipeline holds about one object version."""

    bucket: str
    key: str
    version_id: str | None
    request_id: str
    records: list[dict[str, Any]]
    events: list[RoutedEvent] = field(default_factory=list)
    timelines: list[Timeline] = field(default_factory=list)
    older_versions: int = 0  # of the key, when the newest was picked

    def as_json(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "versionId": self.version_id,
            "requestId": self.request_id,
            "records": self.records,
            "events": [event.document for event in self.events],
            "traces": [_timeline_json(timeline) for timeline in self.timelines],
        }


def gather(target: Target, key: str, version_id: str | None = None) -> ObjectView:
    """The object's record(s), events and trace; ``CliError`` when the table has no record for it."""
    bucket, table = target.output("S3BucketName"), target.output("DynamoDBTableName")
    older = 0
    if version_id is None:
        # The key sorts before every other key it prefixes: its versions come first, newest first.
        listed = list_versions(target.client("s3"), bucket, key)
        versions = list(itertools.takewhile(lambda version: version.key == key, listed))
        if not versions:
            raise CliError(f"no record for {key} in {table}: {bucket} has no object {key}")
        newest, older = versions[0], len(versions) - 1
        version_id, request_id = newest.version_id, newest.object_id(bucket)
    else:
        request_id = object_id(bucket, key, version_id, None, None)
    records = object_records(target.client("dynamodb"), table, request_id)
    if not records:
        version = f" version {version_id}" if version_id else ""
        raise CliError(f"no record for {key}{version} in {table}")
    view = ObjectView(bucket, key, version_id, request_id, records, older_versions=older)
    times = [when for when in map(_record_time, records) if when is not None]
    since = min(times) - EVENTS_BEFORE_RECORD if times else None
    view.events = fetch_events(target, since, request_id=request_id)
    trace_ids = dict.fromkeys(filter(None, (trace_root(record.get("xrayTraceId")) for record in records)))
    view.timelines = get_timelines(target, trace_ids) if trace_ids else []
    return view


def _record_time(record: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(record.get(contract.TABLE_SORT_KEY)))
    except ValueError:
        return None


def _timeline_json(timeline: Timeline) -> dict[str, Any]:
    return {
        "traceId": timeline.trace_id,
        "spans": [
            {
                "name": span.name,
                "kind": span.kind,
                "depth": span.depth,
                "atMs": round((span.start - timeline.start) * 1000, 3),
                "ms": None if span.duration_ms is None else round(span.duration_ms, 3),
                "error": span.error,
                "annotations": span.annotations,
            }
            for span in timeline.spans
        ],
    }


def view_renderables(view: ObjectView, where: str) -> list[RenderableType]:
    """The record(s) as attribute tables with their step fields, then the events, then the traces."""
    title = f"{view.key} (version {view.version_id or 'null'})"
    if view.older_versions:
        title += f", the newest of {view.older_versions + 1} versions (--version-id for another)"
    out: list[RenderableType] = [Text(title, style="bold")]
    for record in view.records:
        out.append(record_group(record))
    out.append(render.events_table(view.events, title=f"events in the log group {where}"))
    if not view.timelines:
        traced = any(record.get("xrayTraceId") for record in view.records)
        reason = "X-Ray has none for it yet, or it was not sampled" if traced else "the record names none"
        out.append(Text(f"no trace: {reason}"))
    out.extend(render.timeline_table(timeline) for timeline in view.timelines)
    return out


def record_group(record: dict[str, Any]) -> Group:
    """Every attribute of one record, then each step's fields as indented JSON."""
    table = Table(title="record", title_justify="left", box=None, pad_edge=False, show_header=False)
    table.add_column("attribute", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    names = [name for name in LEADING if name in record]
    names += sorted(name for name in record if name not in LEADING and name != contract.STEPS_ATTRIBUTE)
    for name in names:
        value = record[name]
        if name == "status":
            table.add_row(name, Text(str(value), style=render.STATUS_STYLE.get(str(value), "")))
        else:
            table.add_row(name, value if isinstance(value, str) else render.pretty_json(value))
    steps = record.get(contract.STEPS_ATTRIBUTE)
    if not isinstance(steps, dict) or not steps:
        return Group(table)
    lines: list[RenderableType] = [Text("steps", style="bold")]
    for name in sorted(steps):
        lines.append(Text(f"  {name}: {render.pretty_json(steps[name], level=1)}"))
    return Group(table, *lines)


def command(
    key: Annotated[str, typer.Argument(help="The object's key, as uploaded.")],
    version_id: Annotated[
        str | None, typer.Option("--version-id", help="This version of the key (default: the newest).")
    ] = None,
    json_document: Annotated[
        bool, typer.Option("--json", help="One JSON document: the records, their events, their traces.")
    ] = False,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """One object's record with its step fields, the events announcing it, and its trace timeline."""
    target = resolve_target(stack, endpoint_url, region)
    view = gather(target, key, version_id)
    if json_document:
        typer.echo(next(render.json_lines([view.as_json()])))
        return
    out = render.console()
    for part in view_renderables(view, target.where):
        out.print(part)
