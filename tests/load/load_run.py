"""Load through the local pipeline: N objects of mixed sizes from several uploader threads,
then count every record, event and failure against what was uploaded.

    .venv/bin/python tests/load/load_run.py --objects 10000

Reports lost, duplicated, failed, objects/s (first upload to last event) and two latencies,
p50 / p99, from the start of ``PutObject``: upload-to-record (to the end of the processor's
invocation that wrote the record) and upload-to-event (to the rule's delivery of the
object's event to the log group, after the publisher read the record from the table's
stream). Speed is reported, never judged.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import boto3

from s3flow.local.pipeline import FlowEvent, FlowKind, LocalPipeline
from s3flow.testing.ledger import Ledger, ObjectVersion, count

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "TapStackdev"
# Mostly small objects, a few large ones: (size in bytes, weight).
SIZES = ((0, 5), (100, 30), (1024, 30), (16 * 1024, 20), (256 * 1024, 10), (1024 * 1024, 5))


@dataclass
class LoadReport:
    objects: int
    uploaders: int
    concurrency: int
    seconds: float
    latencies_ms: list[float]  # upload to record
    event_latencies_ms: list[float]  # upload to event
    ledger: Ledger
    upload_bytes: int

    @property
    def per_second(self) -> float:
        return self.objects / self.seconds if self.seconds else float("nan")

    def percentile(self, fraction: float, latencies: list[float] | None = None) -> float:
        ordered = sorted(self.latencies_ms if latencies is None else latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def lines(self) -> list[str]:
        ledger = self.ledger
        return [
            f"objects {self.objects} ({self.upload_bytes / 2**20:.1f} MiB) from {self.uploaders} uploaders, "
            f"{self.concurrency} sandboxes",
            f"lost {len(ledger.lost)}, duplicated {len(ledger.duplicated)} (records "
            f"{len(ledger.duplicate_records)}, events {len(ledger.duplicate_events)}), "
            f"failed {len(ledger.failed)}, strays {len(ledger.strays)}",
            f"throughput {self.per_second:.1f} objects/s ({self.seconds:.1f} s first upload to last event)",
            f"upload-to-record latency p50 {self.percentile(0.50):.0f} ms, "
            f"p99 {self.percentile(0.99):.0f} ms",
            f"upload-to-event latency p50 {self.percentile(0.50, self.event_latencies_ms):.0f} ms, "
            f"p99 {self.percentile(0.99, self.event_latencies_ms):.0f} ms",
        ]


def synthesized(out: Path | None = None) -> Path:
    """``cdk.out`` if it holds the template, else ``python app.py`` into a temporary folder."""
    if out is not None:
        return out
    default = REPO_ROOT / "cdk.out"
    if (default / f"{STACK_NAME}.template.json").is_file():
        return default
    target = Path(tempfile.mkdtemp(prefix="s3flow-load-"))
    subprocess.run(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env={**os.environ, "CDK_OUTDIR": str(target)}, check=True
    )
    return target


def run_load(
    cloud_assembly: Path,
    *,
    objects: int,
    uploaders: int = 4,
    concurrency: int = 4,
    seed: int = 7,
    idle_timeout: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    rng = random.Random(seed)
    sizes = rng.choices([size for size, _ in SIZES], weights=[weight for _, weight in SIZES], k=objects)
    keys = [
        f"load/{index // 1000:02d}/{index:05d}-{rng.randrange(16**8):08x}.bin" for index in range(objects)
    ]
    recorded_at: dict[str, float] = {}
    announced_at: dict[str, float] = {}
    lock = threading.Lock()

    def on_flow(flow: FlowEvent) -> None:
        if flow.kind is FlowKind.RECORDED:
            with lock:
                recorded_at.setdefault(flow.key, time.time())
        elif flow.kind is FlowKind.ROUTED:
            with lock:
                announced_at.setdefault(flow.key, time.time())

    pipeline = LocalPipeline(cloud_assembly, STACK_NAME, port=0, concurrency=concurrency, on_flow=on_flow)
    pipeline.start()
    try:
        outputs = pipeline.deployment.outputs
        bucket = outputs["S3BucketName"]
        started_at: dict[str, float] = {}
        uploaded: list[ObjectVersion] = []
        local = threading.local()

        def upload(index: int) -> None:
            if not hasattr(local, "s3"):
                local.s3 = boto3.client("s3", endpoint_url=pipeline.endpoint_url, region_name="us-east-1")
            key = keys[index]
            body = random.Random(index).randbytes(sizes[index])
            started = time.time()
            put = local.s3.put_object(Bucket=bucket, Key=key, Body=body)
            with lock:
                started_at[key] = started
                uploaded.append((key, put.get("VersionId")))
                done = len(uploaded)
            if progress and done % 1000 == 0:
                progress(f"uploaded {done}/{objects}")

        first = time.time()
        with ThreadPoolExecutor(max_workers=uploaders) as pool:
            list(pool.map(upload, range(objects)))
        if progress:
            progress("uploads done; waiting for the pipeline to go idle")
        timeout = idle_timeout if idle_timeout is not None else 120 + objects * 0.5
        if not pipeline.wait_idle(timeout):
            raise RuntimeError(f"the pipeline did not go idle within {timeout:.0f} s")
        last = max([*recorded_at.values(), *announced_at.values()], default=first)
        latencies = [(recorded_at[key] - started_at[key]) * 1000 for key in started_at if key in recorded_at]
        to_event = [(announced_at[key] - started_at[key]) * 1000 for key in started_at if key in announced_at]
        if progress:
            progress("counting")
        ledger = count(uploaded, endpoint_url=pipeline.endpoint_url, outputs=outputs)
        seconds = last - first
        return LoadReport(objects, uploaders, concurrency, seconds, latencies, to_event, ledger, sum(sizes))
    finally:
        pipeline.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=int(os.environ.get("S3FLOW_LOAD_OBJECTS", "10000")))
    parser.add_argument("--uploaders", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=4, help="sandboxes (worker processes)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cloud-assembly", type=Path, default=None)
    args = parser.parse_args(argv)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        os.environ.setdefault(name, value)

    def progress(line: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)

    report = run_load(
        synthesized(args.cloud_assembly),
        objects=args.objects,
        uploaders=args.uploaders,
        concurrency=args.concurrency,
        seed=args.seed,
        progress=progress,
    )
    print("\n".join(report.lines()))
    return 0 if report.ledger.holds() and not report.ledger.failed else 1


if __name__ == "__main__":
    sys.exit(main())
