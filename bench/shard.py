"""3c. One stream shard's publishing rate: the publisher against a PutEvents that takes 20 ms.

A DynamoDB stream shard is read by one publisher invocation at a time, batch after batch, and
one table partition takes about 1,000 writes/s. Each row runs the real handler in a child
interpreter against a local endpoint that answers every ``PutEvents`` after ``LATENCY_MS`` (an
in-region call), with the failure queue set and ``PUBLISHER_PUT_CONCURRENCY`` calls in flight
at most, twice: on a *backlog* (every record already written: batches of 100 back to back, the
shard's most records/s), and on records written at ``WRITE_RATE`` per second for
``LOAD_SECONDS`` (what the event lag does at a partition's full rate: it stays near one batch's
time if the publisher keeps up, else it grows until the writes stop). Lambda's own time between
two batches of a shard is not in it: what a batch may take before the goal fails is shown.

``python -m bench shard`` runs this section alone and writes it into docs/performance.md.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import paths
from bench.report import Table, ms
from bench.stats import median, percentile
from s3flow import contract

LATENCY_MS = 20.0  # an in-region PutEvents call
WRITE_RATE = 1000  # writes/s one table partition takes, so one stream shard carries
GOAL = 1000.0  # records/s per shard: at least the partition's writes
LOAD_SECONDS = 3.0
BACKLOG_RECORDS = 2000
BATCH = contract.PUBLISHER_BATCH_SIZE
LEVELS = (1, 2, contract.PUBLISHER_PUT_CONCURRENCY, contract.MAX_PUBLISHER_PUT_CONCURRENCY)
CHILD_TIMEOUT_S = 300
BUS = "s3flow-bench-bus"


@dataclass
class Run:
    """One child's measurements: per batch (start, end, records) and per record its lag, in s."""

    batches: list[tuple[float, float, int]] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)  # write to event accepted, in stream order
    calls: int = 0
    failure: str = ""

    def records_per_second(self) -> float:
        if not self.batches:
            return float("nan")
        elapsed = self.batches[-1][1] - self.batches[0][0]
        return sum(n for _, _, n in self.batches) / elapsed if elapsed > 0 else float("nan")

    def batch_ms(self) -> float:
        return median([(end - start) * 1000 for start, end, _ in self.batches])


@dataclass
class Level:
    concurrency: int
    backlog: Run
    load: Run


@dataclass
class Result:
    levels: list[Level]
    latency_ms: float = LATENCY_MS


def measure(backlog_records: int = BACKLOG_RECORDS, load_seconds: float = LOAD_SECONDS) -> Result:
    """Every level's two runs, each in its own child, the levels interleaved by mode."""
    levels = []
    with tempfile.TemporaryDirectory(prefix="s3flow-bench-shard-") as scratch:
        for concurrency in LEVELS:
            backlog = _child(concurrency, backlog_records, None, Path(scratch))
            load = _child(concurrency, int(WRITE_RATE * load_seconds), WRITE_RATE, Path(scratch))
            levels.append(Level(concurrency, backlog, load))
    return Result(levels)


def _child(concurrency: int, records: int, rate: float | None, scratch: Path) -> Run:
    output = scratch / f"run-{concurrency}-{rate or 'backlog'}.json"
    command = [sys.executable, "-m", "bench.shard", *map(str, (concurrency, records, rate or 0, output))]
    env = {**os.environ, "PYTHONPATH": str(paths.PROJECT_ROOT / "src")}
    done = subprocess.run(
        command, cwd=paths.PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        timeout=CHILD_TIMEOUT_S, check=False, text=True,
    )  # fmt: skip
    if done.returncode != 0 or not output.is_file():
        return Run(failure=f"child exit {done.returncode}: {done.stderr[-2000:]}")
    data = json.loads(output.read_text())
    return Run([tuple(b) for b in data["batches"]], data["lags"], data["calls"])  # type: ignore[misc]


# The child: a slow PutEvents endpoint and the handler on one shard's batches


class SlowEventBridge:
    """Answers each ``PutEvents`` after ``latency_ms``, every entry accepted; notes when, per record."""

    def __init__(self, latency_ms: float) -> None:
        self.accepted: dict[str, float] = {}  # requestId -> perf_counter at the answer
        self.calls = 0
        self._lock = threading.Lock()
        self._latency_s = latency_ms / 1000
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # kept-alive connections, as the client keeps them

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes; without this, Nagle holds the body back.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                entries = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["Entries"]
                time.sleep(endpoint._latency_s)
                results = [{"EventId": f"e-{n}"} for n in range(len(entries))]
                body = json.dumps({"FailedEntryCount": 0, "Entries": results}).encode()
                now = time.perf_counter()
                with endpoint._lock:
                    endpoint.calls += 1
                    for entry in entries:
                        endpoint.accepted[json.loads(entry["Detail"])["requestId"]] = now
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def _stream_records(count: int, start: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """(requestId, stream record) for ``count`` new objects, shaped as Lambda delivers them."""
    from s3flow.functions.processor import items
    from s3flow.functions.processor.records import ObjectRecord
    from s3flow.functions.shared.dynamodb_json import to_dynamo

    when = datetime(2026, 12, 1, 12, tzinfo=UTC)
    invocation = items.Invocation("s3-object-processor-bench", "$LATEST", "bench", None, "bench")
    made = []
    for n in range(start, start + count):
        record = ObjectRecord(bucket="uploads-bench", key=f"shard/file-{n}.csv", version_id=None, size=1024,
                              etag="d41d8cd98f00b204e9800998ecf8427e", sequencer=f"{n:018X}", event_time=when,
                              event_name="ObjectCreated:Put", region="us-east-1")  # fmt: skip
        item = items.object_item(record, invocation, shards=4, processed_at=when)
        keys = {name: item[name] for name in (contract.TABLE_PARTITION_KEY, contract.TABLE_SORT_KEY)}
        body = {"Keys": to_dynamo(keys), "NewImage": to_dynamo(item), "SequenceNumber": str(10**20 + n),
                "SizeBytes": 600, "StreamViewType": contract.STREAM_VIEW_TYPE}  # fmt: skip
        raw = {
            "eventID": f"shard-{n}",
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "dynamodb": body,
        }
        made.append((item[contract.TABLE_PARTITION_KEY], raw))
    return made


class _Context:
    function_name = "s3-event-publisher-bench"
    aws_request_id = "bench"


def child(concurrency: int, records: int, rate: float, output: Path) -> None:
    """One run: records written at ``rate`` per second (0: all at once), read 100 at a time."""
    endpoint = SlowEventBridge(LATENCY_MS)
    os.environ.update({
        "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL_EVENTBRIDGE": endpoint.url, contract.ENV_EVENT_BUS_NAME: BUS,
        # Set, as the stack sets it; never called here, as no entry fails.
        contract.ENV_PUBLISHER_FAILURE_QUEUE_URL: f"{endpoint.url}/000000000000/failures",
        contract.ENV_PUBLISHER_PUT_CONCURRENCY: str(concurrency),
    })  # fmt: skip
    os.environ.pop("_X_AMZN_TRACE_ID", None)
    from s3flow.functions.publisher import handler

    stream = _stream_records(records)
    # Not counted: opens the connections and starts the threads.
    handler.handler({"Records": [raw for _, raw in _stream_records(BATCH, start=records)]}, _Context())
    started = time.perf_counter()
    written = [started + (n / rate if rate else 0.0) for n in range(records)]
    batches, taken = [], 0
    while taken < records:
        now = time.perf_counter()
        if written[taken] > now:  # caught up: the next record is not written yet
            time.sleep(written[taken] - now)
            continue
        available = sum(1 for at in written[taken : taken + BATCH] if at <= now)
        batch = stream[taken : taken + available]
        begin = time.perf_counter()
        response = handler.handler({"Records": [raw for _, raw in batch]}, _Context())
        if response["batchItemFailures"]:
            raise RuntimeError(f"the bench's endpoint accepts everything, yet: {response}")
        batches.append((begin, time.perf_counter(), len(batch)))
        taken += len(batch)
    lags = [endpoint.accepted[request_id] - written[n] for n, (request_id, _) in enumerate(stream)]
    output.write_text(json.dumps({"batches": batches, "lags": lags, "calls": endpoint.calls}))
    endpoint.stop()


# The table and the prose


def table(result: Result) -> Table:
    t = Table(
        f"One stream shard's publisher: PutEvents answered after {result.latency_ms:.0f} ms, batches of "
        f"{BATCH}; backlog: every record written before the first batch; load: {WRITE_RATE:,} writes/s",
        ["PutEvents in flight", "records/s on a backlog", "time per batch p50", "event lag at load p50",
         "p99", "max", "last tenth p50", "goal (1,000/s)"],
    )  # fmt: skip
    for level in result.levels:
        backlog, load = level.backlog, level.load
        if backlog.failure or load.failure:
            t.add(level.concurrency, "failed", *[""] * 5, (backlog.failure or load.failure).splitlines()[-1])
            continue
        rate = backlog.records_per_second()
        tail = load.lags[-max(1, len(load.lags) // 10) :]
        default = level.concurrency == contract.PUBLISHER_PUT_CONCURRENCY
        t.add(
            f"{level.concurrency}" + (" (default)" if default else ""),
            f"{rate:,.0f}", ms(backlog.batch_ms()), ms(median(load.lags) * 1000),
            ms(percentile(load.lags, 99) * 1000), ms(max(load.lags) * 1000), ms(median(tail) * 1000),
            "met" if rate >= GOAL else "not met",
        )  # fmt: skip
    return t


def text(result: Result, summary: list[str], command: str, when: str = "") -> list[str]:
    lines = [
        f"Measured by `{command}`{f' on {when}' if when else ''}. Each row is two child interpreters "
        f"running `s3flow.functions.publisher.handler` with `{contract.ENV_PUBLISHER_PUT_CONCURRENCY}` "
        f"set, the failure queue set as the stack sets it, against a local HTTP endpoint answering "
        f"each `PutEvents` after {result.latency_ms:.0f} ms with every entry accepted (one batch first, "
        "not counted, opens the connections and threads). *Records/s on a backlog*: every record "
        f"written before the first batch, {BATCH} per batch back to back (the shard's capacity). "
        f"*Event lag at load*: records written at {WRITE_RATE:,}/s for {LOAD_SECONDS:.0f} s, a batch "
        f"taking all records written by its start (at most {BATCH}); the lag is from a record's write "
        "to the answer of the call that published its event; *last tenth* is that of the last records "
        "written: it grows with the run when the publisher falls behind. Lambda's own time between two "
        "batches of a shard is not in these numbers.",
    ]
    measured = [level for level in result.levels if not (level.backlog.failure or level.load.failure)]
    by = {level.concurrency: level for level in measured}
    default, before = by.get(contract.PUBLISHER_PUT_CONCURRENCY), by.get(1)
    if default is None or before is None:
        summary.append("One stream shard's publishing rate: not measured in this run (see the table).")
        return lines
    rate, old_rate = default.backlog.records_per_second(), before.backlog.records_per_second()
    verdict = "met" if rate >= GOAL else "not met"
    old_tail = median(before.load.lags[-max(1, len(before.load.lags) // 10) :]) * 1000
    batch_ms = default.backlog.batch_ms()
    room = BATCH / GOAL * 1000 - batch_ms
    summary.append(
        f"One stream shard's publishing rate at {result.latency_ms:.0f} ms per `PutEvents`: "
        f"{old_rate:,.0f} records/s one call at a time, {rate:,.0f} with up to "
        f"{contract.PUBLISHER_PUT_CONCURRENCY} in flight (goal {GOAL:,.0f}: **{verdict}**); "
        f"at {WRITE_RATE:,} writes/s the event lag's p50 is {ms(median(before.load.lags) * 1000)} against "
        f"{ms(median(default.load.lags) * 1000)}."
    )  # fmt: skip
    lines.append(
        f"One call at a time, a batch of {BATCH} is {BATCH // 10} calls in a row, "
        f"{ms(before.backlog.batch_ms())}: {old_rate:,.0f} records/s, below the partition's {WRITE_RATE:,} "
        f"writes/s, so at that rate the lag grows for as long as the writes last (its last tenth: "
        f"{ms(old_tail)}). "
        f"With up to {contract.PUBLISHER_PUT_CONCURRENCY} calls in flight a batch takes {ms(batch_ms)} "
        f"({rate:,.0f} records/s) and the lag stays near one batch's time. The goal holds as long as "
        f"Lambda's own time between two batches of a shard stays under about {ms(max(room, 0.0))}."
    )  # fmt: skip
    return lines


HEADING = "3c. One stream shard's publishing rate"


def section(result: Result, summary: list[str], command: str, when: str = "") -> tuple[str, Table, list[str]]:
    """The section for the document, its table printed."""
    t = table(result)
    print()
    print(t.text())
    for level in result.levels:
        for run in (level.backlog, level.load):
            if run.failure:
                print(f"  !! {level.concurrency} in flight: {run.failure}", file=sys.stderr)
    return HEADING, t, text(result, summary, command, when)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", type=int, default=BACKLOG_RECORDS, help="records of the backlog run")
    parser.add_argument(
        "--seconds", type=float, default=LOAD_SECONDS, help=f"seconds of writes at {WRITE_RATE:,}/s"
    )
    parser.add_argument("--output", type=Path, default=paths.PERFORMANCE_DOC, help="document to update")
    parser.add_argument("--no-write", action="store_true", help="print the table only")


def alone(args: argparse.Namespace) -> int:
    """``python -m bench shard``: measures this section alone and puts it into the document."""
    from bench import document

    command = "python -m bench shard"
    command += f" --records {args.records}" if args.records != BACKLOG_RECORDS else ""
    command += f" --seconds {args.seconds:g}" if args.seconds != LOAD_SECONDS else ""
    document.measure_alone(
        command,
        lambda: measure(args.records, args.seconds),
        section,
        output=None if args.no_write else args.output,
        after="3b.",
    )
    return 0


if __name__ == "__main__":
    level_arg, records_arg, rate_arg, output_arg = sys.argv[1:5]
    child(int(level_arg), int(records_arg), float(rate_arg), Path(output_arg))
