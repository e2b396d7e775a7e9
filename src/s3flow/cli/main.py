"""The ``s3flow`` command: argument parsing and output only; the work is in sibling modules."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from s3flow import contract
from s3flow.cli import logs, publish_failures, queries, render, reprocess, show, timeparse, traces, uploads
from s3flow.cli.errors import CliError, OneLineErrorGroup
from s3flow.cli.init import command as init_command
from s3flow.cli.options import EndpointOption, JsonOption, RegionOption, StackOption
from s3flow.cli.target import DEFAULT_PORT, DEFAULT_STACK, Target, resolve_target

app = typer.Typer(
    cls=OneLineErrorGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Run, feed and inspect the s3flow pipeline, locally (default) or on AWS (--stack).",
)
local_app = typer.Typer(
    cls=OneLineErrorGroup,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="The local pipeline on an embedded emulator.",
)
app.add_typer(local_app, name="local")

Status = typer.Option("--status", help="SUCCESS or ERROR.", case_sensitive=False)


def _print_version(requested: bool) -> None:
    if requested:
        from importlib.metadata import version

        typer.echo(f"s3flow {version('s3flow')}")
        raise typer.Exit()


@app.callback()
def _setup(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the installed version and exit."
        ),
    ] = False,
) -> None:
    # The emulator's notes on what moto lacks are for debugging, not for every run.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    if os.environ.get("S3FLOW_DEBUG"):
        logging.getLogger("s3flow").setLevel(logging.DEBUG)


def _target(stack: str | None, endpoint_url: str | None, region: str | None) -> Target:
    return resolve_target(stack, endpoint_url, region)


def _finite_seconds(value: float | None) -> float | None:
    # click's float accepts nan and inf, which are no delay.
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number of seconds")
    return value


def _context_assignments(values: list[str] | None) -> list[str] | None:
    for value in values or ():
        key, equals, _ = value.partition("=")
        if not equals or not key:
            raise typer.BadParameter(f"{value!r} is not key=value")
    return values


@local_app.command("up")
def local_up(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the emulator.")] = DEFAULT_PORT,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Workers running the function.")] = 4,
    cdk_out: Annotated[Path, typer.Option("--cdk-out", help="Cloud assembly to deploy.")] = Path("cdk.out"),
    stack: Annotated[str, typer.Option("--stack", help="Stack in the cloud assembly.")] = DEFAULT_STACK,
    synth: Annotated[bool, typer.Option("--synth", help="Synthesize first (python app.py).")] = False,
    retry_delay: Annotated[
        float | None,
        typer.Option(
            "--retry-delay",
            min=0,
            callback=_finite_seconds,
            help="Seconds before each async retry (default: Lambda's, about 60, then 120).",
        ),
    ] = None,
    alarm_period: Annotated[
        int | None,
        typer.Option(
            "--alarm-period",
            min=1,
            help="Seconds that stand for every alarm's period, to try alarms (default: the template's).",
        ),
    ] = None,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Serve HTTPS only, with a CA made for this run: the functions trust it as on AWS;"
            " other commands need the S3FLOW_CA_BUNDLE the banner shows.",
        ),
    ] = False,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            metavar="DIR",
            help="Keep the emulator's state in DIR: restored at start, saved while running and at stop.",
        ),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Reload the functions' code when their sources are saved (step packages, s3flow's);"
            " app.py or cdk.json re-synthesize. Running invocations finish on the old code.",
        ),
    ] = False,
    context: Annotated[
        list[str] | None,
        typer.Option(
            "--context",
            "-c",
            metavar="KEY=VALUE",
            callback=_context_assignments,
            help="Context for python app.py when --synth or --watch synthesizes (as cdk synth -c).",
        ),
    ] = None,
) -> None:
    """Run the pipeline locally in the foreground, printing each object as it flows."""
    from s3flow.cli.local_up import run_local_up

    run_local_up(
        cdk_out=cdk_out,
        stack=stack,
        port=port,
        concurrency=concurrency,
        synth=synth,
        console=render.console(),
        retry_delay=retry_delay,
        alarm_period=alarm_period,
        tls=tls,
        state=state,
        watch=watch,
        context=tuple(context or ()),
    )


@app.command()
def put(
    files: Annotated[list[Path], typer.Argument(help="Files or folders (walked recursively).")],
    prefix: Annotated[str, typer.Option(help="Key prefix, e.g. incoming/.")] = "",
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Upload files to the pipeline's bucket; prints each key and its version id."""
    planned = uploads.plan_uploads(files, prefix)
    target = _target(stack, endpoint_url, region)
    bucket, s3 = target.output("S3BucketName"), target.client("s3")
    out = render.console()
    done: list[uploads.Uploaded] = []
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=out, transient=True, disable=not out.is_terminal) as progress:
        task = progress.add_task(
            f"uploading {len(planned)} file(s) to {bucket}", total=sum(u.size for u in planned)
        )
        for item in planned:
            done.append(uploads.upload(s3, bucket, item, on_bytes=lambda n: progress.advance(task, n)))
    out.print(render.uploads_table(done))


@app.command()
def records(
    since: Annotated[str, typer.Option(help="Start: ISO-8601, a date, or -30m/-1h/-2d.")] = "-1h",
    until: Annotated[str, typer.Option(help="End: ISO-8601, a date, `now`, or an offset.")] = "now",
    status: Annotated[str | None, Status] = None,
    json_lines: JsonOption = False,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Records written in a time range, read through the time index, with their step fields."""
    if status and status.upper() not in (contract.STATUS_SUCCESS, contract.STATUS_ERROR):
        raise CliError(f"--status must be SUCCESS or ERROR, not {status!r}")
    start, end = timeparse.parse_range(since, until)
    end = queries.readable_until(end)
    items = queries.fetch_records(_target(stack, endpoint_url, region), start, end, status, whole=True)
    if json_lines:
        for line in render.json_lines(items):
            typer.echo(line)
        return
    render.console().print(
        render.records_table(items, title=f"records {start:%Y-%m-%dT%H:%M:%SZ} .. {end:%Y-%m-%dT%H:%M:%SZ}")
    )


@app.command()
def events(
    since: Annotated[str, typer.Option(help="Start: ISO-8601, a date, or -30m/-1h/-2d.")] = "-1h",
    limit: Annotated[int, typer.Option(min=1, help="Show at most the last N.")] = 50,
    json_lines: JsonOption = False,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """The events the bus's rules delivered to the log group."""
    start = timeparse.parse_when(since, option="--since")
    routed = queries.fetch_events(_target(stack, endpoint_url, region), start, limit)
    if json_lines:
        for line in render.json_lines(event.document for event in routed):
            typer.echo(line)
        return
    render.console().print(render.events_table(routed))


@app.command("logs")
def logs_(
    function: Annotated[str, typer.Option(help="processor, publisher or all.")] = "all",
    since: Annotated[str, typer.Option(help="Start: ISO-8601, a date, or -30m/-1h/-2d.")] = "-15m",
    level: Annotated[str, typer.Option(help="Lowest level shown: DEBUG, INFO, WARNING, ERROR.")] = "INFO",
    follow: Annotated[bool, typer.Option("--follow", help="Keep printing new lines until Ctrl-C.")] = False,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """The functions' own log lines (their log groups), with stack traces under their line."""
    functions, minimum = logs.chosen_functions(function), logs.chosen_level(level)
    start = timeparse.parse_when(since, option="--since")
    target = _target(stack, endpoint_url, region)
    read = logs.follow if follow else logs.fetch_logs
    lines = read(target, functions, start, minimum)
    try:
        for line in lines:
            typer.echo(logs.format_line(line))
    except KeyboardInterrupt:
        pass


@app.command("traces")
def traces_(
    trace_id: Annotated[str | None, typer.Argument(help="Show this trace as a timeline.")] = None,
    since: Annotated[str, typer.Option(help="List traces since (ISO-8601 or -1h).")] = "-1h",
    limit: Annotated[int, typer.Option(min=1, help="List at most the last N.")] = 20,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """List recent traces, or show one as a timeline of its spans."""
    start = timeparse.parse_when(since, option="--since")
    target = _target(stack, endpoint_url, region)
    target.outputs  # noqa: B018 - traces belong to the stack: fail early if it is not there
    out = render.console()
    if trace_id is None:
        summaries = traces.list_traces(target, start, limit=limit)
        timelines = traces.get_timelines(target, [s.trace_id for s in summaries])
        out.print(render.trace_list_table(summaries, {t.trace_id: t for t in timelines}))
        return
    timelines = traces.get_timelines(target, [trace_id])
    if not timelines:
        raise CliError(f"no trace {trace_id} {target.where}")
    out.print(render.timeline_table(timelines[0]))


@app.command()
def failures(
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Invocations and event batches that failed after their retries (peeks: nothing is consumed)."""
    target = _target(stack, endpoint_url, region)
    found = queries.receive_failures(target, visibility_timeout=0)
    batches = publish_failures.receive_failed_batches(target, visibility_timeout=0)
    out = render.console()
    out.print(render.failures_table(found))
    out.print(render.failed_batches_table(batches))


@app.command()
def redrive(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be re-invoked.")] = False,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Re-invoke each failed event, then republish each failed event batch.

    A message is deleted only once its invoke is accepted, or its batch fully published.
    """
    target = _target(stack, endpoint_url, region)
    out = render.console()
    verb = "would re-invoke" if dry_run else "re-invoked"

    def report(failure: queries.FailedInvocation, outcome: str) -> None:
        what = ", ".join(failure.keys) or failure.message_id
        out.print(f"  {verb if outcome == 'redriven' else outcome.replace('_', ' ')}: {what}")

    summary = queries.redrive(target, dry_run=dry_run, on_message=report)
    removed = "would be removed" if dry_run else "removed"
    out.print(
        f"{verb} {len(summary.redriven)}, {len(summary.already_recorded)} already recorded ({removed}), "
        f"skipped {len(summary.skipped)} without a payload, "
        f"{len(summary.rejected)} not accepted (kept in the queue)"
    )
    republish = "would republish" if dry_run else "republished"

    def report_batch(batch: publish_failures.FailedBatch, outcome: str) -> None:
        what = f"{batch.size} record(s) from {batch.sequence_range[0]}"
        out.print(f"  {republish if outcome == 'republished' else outcome.replace('_', ' ')}: {what}")

    batches = publish_failures.redrive_batches(target, dry_run=dry_run, on_message=report_batch)
    out.print(
        f"{republish} {len(batches.republished)} event batch(es), "
        f"{len(batches.expired)} no longer in the stream (kept in the queue), "
        f"{len(batches.rejected)} not published (kept in the queue)"
    )
    if summary.rejected or batches.rejected or batches.expired:
        raise typer.Exit(1)


@app.command()
def backfill(
    bucket: Annotated[str | None, typer.Option(help="Bucket to list (default: the stack's bucket).")] = None,
    prefix: Annotated[str, typer.Option(help="Only keys under this prefix.")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be sent.")] = False,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Send object versions that have no record through the processor (safe to run twice)."""
    from s3flow.cli import backfill as backfill_

    target = _target(stack, endpoint_url, region)
    out = render.console()
    with Progress(TextColumn("{task.description}"), TextColumn("{task.completed} versions"), console=out,
                  transient=True, disable=not out.is_terminal) as progress:  # fmt: skip
        task = progress.add_task("checking object versions for records")
        summary = backfill_.backfill(
            target, bucket=bucket, prefix=prefix, dry_run=dry_run,
            on_version=lambda version, recorded: progress.advance(task),
        )  # fmt: skip
    for version in summary.sent:
        out.print(f"  {'would send' if dry_run else 'sent'}: {version.key} ({version.version_id or 'null'})")
    for version in summary.rejected:
        out.print(f"  not accepted: {version.key} ({version.version_id or 'null'})")
    verb = "would send" if dry_run else f"sent in {summary.invocations} invocation(s)"
    out.print(
        f"{summary.listed} version(s) listed, {summary.recorded} already recorded, "
        f"{len(summary.sent)} {verb}, {len(summary.rejected)} not accepted"
    )
    if summary.rejected:
        raise typer.Exit(1)


app.command("reprocess")(reprocess.command)


@app.command()
def metrics(
    since: Annotated[str, typer.Option(help="Start: ISO-8601, a date, or -30m/-1h/-2d.")] = "-1h",
    until: Annotated[str, typer.Option(help="End: ISO-8601, a date, `now`, or an offset.")] = "now",
    period: Annotated[int, typer.Option(min=1, help="Seconds per row: 1, 5, 10, 30 or n*60.")] = 60,
    environment: Annotated[
        str | None, typer.Option(help="Environment dimension (default: the stack's suffix).")
    ] = None,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """The pipeline's CloudWatch metrics per period: objects, errors, duplicates, latency, events."""
    from s3flow.cli import metrics as metrics_

    start, end = timeparse.parse_range(since, until)
    report = metrics_.read_metrics(
        _target(stack, endpoint_url, region), start, end, period=period, environment=environment
    )
    render.console().print(metrics_.metrics_table(report))


@app.command()
def alarms(
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Each alarm of the stack (s3flow-<env>-*): its state, why, and since when."""
    from s3flow.cli import alarms as alarms_

    target = _target(stack, endpoint_url, region)
    prefix = alarms_.alarm_prefix(target)
    statuses = alarms_.read_alarms(target, prefix)
    render.console().print(alarms_.alarms_table(statuses, prefix, target.where))


@app.command()
def demo(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Emulator port (0: a free one).")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Workers running the function.")] = 4,
    cdk_out: Annotated[Path, typer.Option("--cdk-out", help="Cloud assembly to deploy.")] = Path("cdk.out"),
    stack: Annotated[str, typer.Option("--stack", help="Stack in the cloud assembly.")] = DEFAULT_STACK,
    samples: Annotated[
        Path | None,
        typer.Option("--samples", exists=True, file_okay=False, help="Upload this folder's files instead."),
    ] = None,
) -> None:
    """The main job: run the pipeline locally, upload samples, check what arrived where."""
    from s3flow.cli.demo import run_demo

    if not run_demo(
        cdk_out=cdk_out, stack=stack, port=port, concurrency=concurrency, console=render.console(),
        samples=samples,
    ):  # fmt: skip
        raise typer.Exit(1)


app.command("show")(show.command)
app.command("init")(init_command)
