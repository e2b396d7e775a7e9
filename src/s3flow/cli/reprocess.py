"""``reprocess``: run the processing steps again for the objects whose record is a step error.

A failed step leaves its object's record as ``status=ERROR`` with ``failedStep``; nothing
sends the object through again by itself (``backfill`` skips objects that have a record,
``redrive`` only replays the failure queues). This sends each such object version to the
processor as the S3 event that wrote its record, so the processor's own retry path runs:
its first write finds the key taken by a step error, the steps run again, and if they
succeed a second conditional write replaces the error record (``#status = ERROR AND
attribute_exists(failedStep)``), once however many deliveries race; the publisher announces
the change once (docs/data-model.md, the outbox section). If they fail again, the stored
error record stays and nothing is announced.

The event must name the record's own key: its object id (bucket, key and version id, else
sequencer, else eTag) and its sort key, the event time of the delivery that wrote it. So
the event is rebuilt from the record, not from the object's listing: ``LastModified`` has
whole seconds where S3's ``eventTime`` has milliseconds, and another time would be another
item, a second record with a second event beside the error. Each rebuilt event is checked
with the processor's own parser before it is sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from s3flow import contract
from s3flow.cli import queries, render, timeparse
from s3flow.cli.errors import CliError
from s3flow.cli.options import EndpointOption, RegionOption, StackOption
from s3flow.cli.target import Target, resolve_target

CONFIGURATION_ID = "s3flow-reprocess"
# The one status whose records the processor replaces (a SUCCESS record never is).
REPROCESSABLE_STATUSES = (contract.STATUS_ERROR,)

NOT_A_STEP_ERROR = "not a step error: nothing to run the steps on"
BAD_RECORD = "a bad S3 record, not a step error: nothing to run the steps on"
VERSION_GONE = "object version gone"
OBJECT_REPLACED = "object replaced since (another eTag under its key)"
# HeadObject answers without a body, so botocore names the error by its HTTP status.
_GONE_CODES = {"404", "NoSuchKey", "NoSuchVersion", "405", "MethodNotAllowed"}
_REPLACED_CODES = {"412", "PreconditionFailed"}


@dataclass
class ReprocessSummary:
    found: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # or, in a dry run, would be
    skipped: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (record, why)
    rejected: list[dict[str, Any]] = field(default_factory=list)  # invokes Lambda did not accept
    invocations: int = 0

    def skipped_by_reason(self) -> Counter[str]:
        return Counter(why for _, why in self.skipped)


def chosen_statuses(values: Sequence[str] | None) -> tuple[str, ...]:
    """The statuses asked for (ERROR when none), upper-cased; a one-line error for any other."""
    chosen: list[str] = []
    for value in values or (contract.STATUS_ERROR,):
        status = value.strip().upper()
        if status == contract.STATUS_SUCCESS:
            raise CliError("--status SUCCESS: a successful record is never replaced: no steps to re-run")
        if status not in REPROCESSABLE_STATUSES:
            raise CliError(f"--status must be {' or '.join(REPROCESSABLE_STATUSES)}, not {value!r}")
        if status not in chosen:
            chosen.append(status)
    return tuple(chosen)


def find_records(
    target: Target, statuses: Sequence[str], since: datetime | None, prefix: str = ""
) -> list[dict[str, Any]]:
    """The records with these statuses (whole items) under the key prefix, oldest first:
    since ``since`` through the time index, else from the whole table."""
    found: list[dict[str, Any]] = []
    for status in statuses:
        if since is None:
            found.extend(queries.scan_records(target, status, prefix))
            continue
        end = queries.readable_until(datetime.now(UTC))
        items = queries.fetch_records(target, since, end, status, whole=True)
        found.extend(item for item in items if str(item.get("objectKey", "")).startswith(prefix))
    return sorted(
        found, key=lambda item: (str(item[contract.TABLE_SORT_KEY]), str(item[contract.TABLE_PARTITION_KEY]))
    )


def event_record(item: dict[str, Any], region: str) -> dict[str, Any]:
    """The S3 record of the delivery that wrote ``item``: its object version and event time."""
    from s3flow.cli.s3events import cli_record

    return cli_record(
        bucket=item["bucketName"],
        region=item.get("awsRegion") or region,
        key=item["objectKey"],
        size=int(item["size"]),
        event_time=item[contract.TABLE_SORT_KEY],
        event_name=item.get("eventName") or "ObjectCreated:Put",
        version_id=item.get("versionId"),
        etag=item.get("eTag"),
        sequencer=item.get("sequencer"),
        configuration_id=CONFIGURATION_ID,
    )


def rebuild(item: dict[str, Any], region: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(event record, None)`` for a step error the processor will map back to this very
    record, else ``(None, why not)``."""
    from s3flow.functions.processor.items import ERROR_ID_PREFIX, is_step_error
    from s3flow.functions.processor.records import ObjectRecord, parse_record
    from s3flow.functions.processor.time_index import format_timestamp

    if str(item.get(contract.TABLE_PARTITION_KEY, "")).startswith(ERROR_ID_PREFIX):
        return None, BAD_RECORD
    if not is_step_error(item):
        return None, NOT_A_STEP_ERROR
    try:
        record = event_record(item, region)
    except KeyError as error:
        return None, f"its event cannot be rebuilt: the record has no {error.args[0]}"
    except (TypeError, ValueError) as error:
        return None, f"its event cannot be rebuilt: {error}"
    parsed = parse_record(record)
    if not (
        isinstance(parsed, ObjectRecord)
        and parsed.object_id == item[contract.TABLE_PARTITION_KEY]
        and format_timestamp(parsed.event_time) == item[contract.TABLE_SORT_KEY]
    ):
        return None, "its event cannot be rebuilt: the processor would not map it to this record"
    return record, None


def object_missing(s3: Any, item: dict[str, Any]) -> str | None:
    """Why the object version the record names cannot be read again, or None if it can
    (one HeadObject; without a version id, the eTag must still match, as the steps require)."""
    params: dict[str, Any] = {"Bucket": item["bucketName"], "Key": item["objectKey"]}
    if item.get("versionId"):
        params["VersionId"] = item["versionId"]
    elif item.get("eTag"):
        params["IfMatch"] = f'"{item["eTag"]}"'
    try:
        s3.head_object(**params)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _GONE_CODES:
            return VERSION_GONE
        if code in _REPLACED_CODES:
            return OBJECT_REPLACED
        return f"cannot read the object: {code or error}"
    return None


def reprocess(
    target: Target,
    *,
    statuses: Sequence[str] = REPROCESSABLE_STATUSES,
    since: datetime | None = None,
    prefix: str = "",
    dry_run: bool = False,
    on_found: Callable[[int], None] | None = None,
    on_checked: Callable[[dict[str, Any], str | None], None] | None = None,
) -> ReprocessSummary:
    """Find the error records, keep the step errors whose object version is still there, and
    (unless ``dry_run``) send each one's event to the processor, in asynchronous batches."""
    from s3flow.cli.backfill import invoke_in_batches

    summary = ReprocessSummary(found=find_records(target, statuses, since, prefix))
    if on_found:
        on_found(len(summary.found))
    s3, region = target.client("s3"), target.session.region_name or "us-east-1"
    ready: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for item in summary.found:
        record, why = rebuild(item, region)
        if record is not None:
            why = object_missing(s3, item)
        if why is None and record is not None:
            ready.append((item, record))
        else:
            summary.skipped.append((item, str(why)))
        if on_checked:
            on_checked(item, why)
    if dry_run:
        summary.sent = [item for item, _ in ready]
        return summary
    sent = invoke_in_batches(target, ready)
    summary.sent, summary.rejected, summary.invocations = sent.accepted, sent.rejected, sent.invocations
    return summary


def describe(item: dict[str, Any]) -> str:
    return f"{item.get('objectKey', item[contract.TABLE_PARTITION_KEY])} ({item.get('versionId') or 'null'})"


def summary_line(summary: ReprocessSummary, dry_run: bool) -> str:
    reasons = ", ".join(f"{count} {why}" for why, count in sorted(summary.skipped_by_reason().items()))
    skipped = f"skipped {len(summary.skipped)}" + (f" ({reasons})" if reasons else "")
    if dry_run:
        return f"found {len(summary.found)} error record(s), would invoke {len(summary.sent)}, {skipped}"
    return (
        f"found {len(summary.found)} error record(s), invoked {len(summary.sent)} "
        f"in {summary.invocations} invocation(s), {skipped}, {len(summary.rejected)} not accepted"
    )


def command(
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="Records with this status: ERROR, the one a retry replaces (default).",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN",
            help="Records since (event time: ISO-8601, a date, -1h/-2d), via the time index;"
            " without it, a Scan of the whole table.",
        ),
    ] = None,
    prefix: Annotated[str, typer.Option(help="Only keys under this prefix.")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be re-run.")] = False,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Run the processing steps again for records a step failed for (each error replaced once)."""
    statuses = chosen_statuses(status)
    start = None if since is None else timeparse.parse_when(since, option="--since")
    target = resolve_target(stack, endpoint_url, region)
    out = render.console()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=out, transient=True, disable=not out.is_terminal) as progress:
        task = progress.add_task("finding error records", total=None)
        summary = reprocess(
            target, statuses=statuses, since=start, prefix=prefix, dry_run=dry_run,
            on_found=lambda total: progress.update(task, total=total, description="checking object versions"),
            on_checked=lambda item, why: progress.advance(task),
        )  # fmt: skip
    for item in summary.sent:
        verb = "would invoke" if dry_run else "invoked"
        out.print(f"  {verb}: {describe(item)}, failed step {item.get('failedStep')}")
    for item, why in summary.skipped:
        out.print(f"  skipped: {describe(item)}: {why}")
    for item in summary.rejected:
        out.print(f"  not accepted: {describe(item)}")
    out.print(summary_line(summary, dry_run))
    if summary.rejected:
        raise typer.Exit(1)
