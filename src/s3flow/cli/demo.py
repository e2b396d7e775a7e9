"""The main job: bring the pipeline up in-process, send sample objects through it, check what arrived.

Exits 0 only if every object version has exactly one record (a redelivered S3 record
included), every object has one success event in the log group, keys are stored
exactly as uploaded, one trace shows processing, DynamoDB write and event publish, and
nothing reached either failure queue. With processing steps registered (a team's stack), every
record also carries each step's fields; ``--samples DIR`` uploads that folder's files instead
of the built-in samples.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table

from s3flow import contract
from s3flow.cli import publish_failures, queries, render, traces, uploads
from s3flow.cli.local_up import ensure_template, flow_printer, free_port
from s3flow.cli.s3events import cli_record
from s3flow.cli.target import Target, local_target
from s3flow.functions.processor.steps.registry import parse_steps
from s3flow.functions.shared.observability.trace_header import trace_root

LARGE_SIZE = 12 * uploads.MIB
IDLE_TIMEOUT = 120.0
SETTLE_TIMEOUT = 30.0
REQUIRED_SPANS = ("processing", "dynamodb", "eventbridge")


def sample_files(root: Path) -> list[uploads.Upload]:
    """The objects the demo uploads: awkward names, an empty one, a large (multipart) one, nesting."""
    samples: dict[str, bytes] = {
        "my report+final v2.txt": b"a name with spaces and a plus sign\n",
        "données/résumé 東京.txt": b"unicode in folder and file name\n",
        "empty.txt": b"",
        "a/b/c.txt": b"nested three levels deep\n",
    }
    planned = []
    for key, body in samples.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        planned.append(uploads.Upload(path, key, len(body)))
    large = root / "large.bin"
    with large.open("wb") as stream:
        block = bytes(range(256)) * 4096  # 1 MiB, not all zeroes
        for _ in range(LARGE_SIZE // len(block)):
            stream.write(block)
    planned.append(uploads.Upload(large, "large.bin", LARGE_SIZE))
    return planned


def s3_event_for(item: dict[str, Any], region: str, bucket: str) -> dict[str, Any]:
    """The S3 notification for a recorded object version, as S3 sent it."""
    record = cli_record(
        bucket=bucket,
        region=region,
        key=item["objectKey"],
        size=int(item.get("size", 0)),
        event_time=item["eventTime"],
        version_id=item.get("versionId"),
        etag=item.get("eTag"),
        sequencer=item.get("sequencer"),
        event_name=item.get("eventName", "ObjectCreated:Put"),
    )
    return {"Records": [record]}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Observed:
    uploaded: list[uploads.Uploaded]
    records: list[dict[str, Any]]
    events: list[queries.RoutedEvent]
    timeline: traces.Timeline | None
    failures: int
    steps: tuple[str, ...] = ()  # the names of the processor's registered steps


def evaluate(observed: Observed) -> list[Check]:
    versions = {(u.key, u.version_id) for u in observed.uploaded}
    keys = {u.key for u in observed.uploaded}
    success = [r for r in observed.records if r.get("status") == contract.STATUS_SUCCESS]
    per_version = Counter((r.get("objectKey"), r.get("versionId")) for r in success)
    duplicates = [f"{k[0]} x{n}" for k, n in per_version.items() if n > 1]
    missing_records = sorted(k for k, v in versions - set(per_version))
    errors = [r for r in observed.records if r.get("status") != contract.STATUS_SUCCESS]
    routed = Counter(
        str(e.detail.get("objectKey")) for e in observed.events if e.status == contract.STATUS_SUCCESS
    )
    wrong_events = sorted(k for k in keys | set(routed) if routed.get(k, 0) != 1)
    stored_keys = {str(r.get("objectKey")) for r in success}
    kinds = observed.timeline.kinds if observed.timeline else set()
    missing_spans = [k for k in REQUIRED_SPANS if k not in kinds]
    return [
        Check(
            "one record per object version",
            not duplicates and not missing_records and not errors and len(observed.records) == len(versions),
            f"{len(observed.records)} records for {len(versions)} versions"
            + (f"; duplicated: {', '.join(duplicates)}" if duplicates else "")
            + (f"; missing: {', '.join(missing_records)}" if missing_records else "")
            + (f"; {len(errors)} error records" if errors else ""),
        ),
        Check(
            "one success event per object",
            not wrong_events and sum(routed.values()) == len(keys),
            f"{sum(routed.values())} success events for {len(keys)} objects"
            + (f"; wrong count for: {', '.join(wrong_events)}" if wrong_events else ""),
        ),
        Check(
            "keys stored exactly as uploaded",
            stored_keys == keys,
            "all keys match"
            if stored_keys == keys
            else f"unexpected: {sorted(stored_keys - keys)}, absent: {sorted(keys - stored_keys)}",
        ),
        Check(
            "one trace with processing, DynamoDB and EventBridge spans",
            observed.timeline is not None and not missing_spans,
            "no trace found"
            if observed.timeline is None
            else f"trace {observed.timeline.trace_id}, {len(observed.timeline.spans)} spans"
            + (f"; missing: {', '.join(missing_spans)}" if missing_spans else ""),
        ),
        Check("no failures", observed.failures == 0, f"{observed.failures} in the failure queues"),
        *_step_checks(observed.steps, success),
    ]


def _step_checks(steps: tuple[str, ...], success: list[dict[str, Any]]) -> list[Check]:
    """With steps registered: every success record holds each step's fields."""
    if not steps:
        return []
    lacking = sorted(
        f"{record.get('objectKey')} ({name})"
        for record in success
        for name in steps
        if not (record.get(contract.STEPS_ATTRIBUTE) or {}).get(name)
    )
    return [
        Check(
            f"every record carries the fields of {', '.join(steps)}",
            bool(success) and not lacking,
            f"{len(success)} records" + (f"; without: {', '.join(lacking)}" if lacking else ""),
        )
    ]


def registered_steps(pipeline: Any, target: Target) -> tuple[str, ...]:
    """The names the processor stores its steps' fields under, from its deployed environment."""
    function = pipeline.deployment.functions.get(target.output("LambdaFunctionName"))
    entries = function.environment.get(contract.ENV_PROCESSING_STEPS, "") if function else ""
    return tuple(name or attribute for name, _module, attribute in parse_steps(entries))


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def find_timeline(target: Target, record: dict[str, Any], start: datetime) -> traces.Timeline | None:
    """The trace of one object's processing: from its record's trace id, else the richest recent trace."""
    root = trace_root(record.get("xrayTraceId"))
    if root:
        found = traces.get_timelines(target, [root])
        if found and found[0].spans:
            return found[0]
    summaries = traces.list_traces(target, start - timedelta(minutes=1))
    timelines = traces.get_timelines(target, [s.trace_id for s in summaries])
    key = record.get("objectKey")
    for timeline in timelines:
        if key in {str(v) for v in timeline.annotations().values()} and set(REQUIRED_SPANS) <= timeline.kinds:
            return timeline
    complete = [t for t in timelines if set(REQUIRED_SPANS) <= t.kinds]
    return complete[0] if complete else (timelines[0] if timelines else None)


def run_demo(
    *, cdk_out: Path, stack: str, port: int, concurrency: int, console: Console, samples: Path | None = None
) -> bool:
    from s3flow.local import LocalPipeline

    ensure_template(cdk_out, stack, synth=not (cdk_out / f"{stack}.template.json").is_file(), console=console)
    port = port or free_port()
    started = datetime.now(UTC) - timedelta(seconds=5)
    console.rule(f"[bold]s3flow demo[/]: {stack} on a local emulator at port {port}")
    flows: Counter[str] = Counter()
    delivered: dict[str, Any] = {}  # key -> the Lambda event the S3 hop delivered for it

    print_flow = flow_printer(console)

    def on_flow(event: Any) -> None:
        flows.update([str(event.kind)])
        print_flow(event)
        if str(event.kind) == "received" and getattr(event, "payload", None) is not None:
            delivered.setdefault(event.key, event.payload)

    pipeline = LocalPipeline(cdk_out, stack, port=port, concurrency=concurrency, on_flow=on_flow)
    with render.step(console, "deploying the synthesized template onto the emulator…"):
        pipeline.start()
    try:
        target = local_target(port, stack)
        observed = _exercise(pipeline, target, started, delivered, console, samples)
    finally:
        with render.step(console, "stopping the emulator…"):
            pipeline.stop()
    console.print(f"flow: {', '.join(f'{k} {n}' for k, n in sorted(flows.items())) or 'nothing reported'}")
    checks = evaluate(observed)
    console.print(_checks_table(checks))
    ok = all(check.ok for check in checks)
    if ok:
        console.print("[bold green]demo passed[/]: every object arrived once, where it should")
    else:
        failed = ", ".join(c.name for c in checks if not c.ok)
        console.print(f"[bold red]demo failed[/]: {failed}")
    return ok


def _exercise(
    pipeline: Any,
    target: Target,
    started: datetime,
    delivered: dict[str, Any],
    console: Console,
    samples: Path | None = None,
) -> Observed:
    bucket, s3 = target.output("S3BucketName"), target.client("s3")
    with tempfile.TemporaryDirectory(prefix="s3flow-demo-") as tmp:
        planned = uploads.plan_uploads([samples]) if samples else sample_files(Path(tmp))
        uploaded = _upload_all(s3, bucket, planned, console)
    console.print(render.uploads_table(uploaded))
    with render.step(console, "waiting for the pipeline to process every object…"):
        pipeline.wait_idle(IDLE_TIMEOUT)
        wait_until(lambda: len(_records(target, started)) >= len(uploaded), SETTLE_TIMEOUT)

    # S3 delivers at least once: hand the function the identical event again.
    first = next(r for r in _records(target, started) if r.get("objectKey") == uploaded[0].key)
    event = delivered.get(uploaded[0].key) or s3_event_for(first, target.region or "us-east-1", bucket)
    with render.step(console, f"re-delivering the S3 record of {first['objectKey']!r}…"):
        target.client("lambda").invoke(
            FunctionName=target.output("LambdaFunctionName"),
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )
        pipeline.wait_idle(IDLE_TIMEOUT)
    console.print(f"re-delivered the S3 record of {first['objectKey']!r} (version {first.get('versionId')})")

    with render.step(console, "reading records, events, traces and the failure queues…"):
        wait_until(lambda: len(_success_events(target, started)) >= len(uploaded), SETTLE_TIMEOUT)
        records = _records(target, started, whole=True)  # with the steps' fields
        events = queries.fetch_events(target, started - timedelta(minutes=1))
        timeline = _complete_timeline(target, first, started)
        queues = ("FailureQueueUrl", publish_failures.QUEUE_OUTPUT)
        failures = sum(queries.failure_count(target, queue) for queue in queues)
    console.print(render.records_table(records, title="records (one per object version)"))
    console.print(render.events_table(events, title="events in the log group"))
    if timeline:
        console.print(f"the trace of {first['objectKey']!r}:")
        console.print(render.timeline_table(timeline))
    console.print(f"failure queues: {failures} message(s)")
    return Observed(uploaded, records, events, timeline, failures, registered_steps(pipeline, target))


def _complete_timeline(target: Target, record: dict[str, Any], started: datetime) -> traces.Timeline | None:
    """The object's trace once all its spans arrived (they reach the trace store over UDP)."""
    found: list[traces.Timeline | None] = [None]

    def complete() -> bool:
        found[0] = find_timeline(target, record, started)
        return found[0] is not None and set(REQUIRED_SPANS) <= found[0].kinds

    wait_until(complete, SETTLE_TIMEOUT, interval=0.5)
    return found[0]


def _records(target: Target, started: datetime, *, whole: bool = False) -> list[dict[str, Any]]:
    return queries.fetch_records(
        target, started - timedelta(minutes=1), datetime.now(UTC) + timedelta(minutes=1), whole=whole
    )


def _success_events(target: Target, started: datetime) -> list[queries.RoutedEvent]:
    return [
        e
        for e in queries.fetch_events(target, started - timedelta(minutes=1))
        if e.status == contract.STATUS_SUCCESS
    ]


def _upload_all(
    s3: Any, bucket: str, planned: list[uploads.Upload], console: Console
) -> list[uploads.Uploaded]:
    done = []
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"uploading {len(planned)} objects", total=sum(p.size for p in planned))
        for item in planned:
            progress.update(task, description=f"uploading {item.key}")
            done.append(uploads.upload(s3, bucket, item, on_bytes=lambda n: progress.advance(task, n)))
    return done


def _checks_table(checks: list[Check]) -> Table:
    table = Table(title="checks", title_justify="left")
    table.add_column("")
    table.add_column("check")
    table.add_column("detail", overflow="fold")
    for check in checks:
        table.add_row("[green]✓[/]" if check.ok else "[red]✗[/]", check.name, check.detail)
    return table
