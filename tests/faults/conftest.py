"""Fixtures for the fault tier: the app synthesized once, a pipeline per test, and a run
that uploads seeded objects, waits, counts against the promise and redrives.

Retries are short so that a fault that outlasts every retry reaches a failure queue in
seconds: Lambda's async ``retry_delays`` for the processor, the stream mapping's
``stream_retry_delays`` for the publisher (its 10 retries stay 10), and ``AWS_MAX_ATTEMPTS``
in the workers, which the functions' client reads as botocore does (2 for the processor's
PutItem; 1 for the publisher, whose own loop tries failed entries 4 times).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest

from s3flow.cli.publish_failures import redrive_batches
from s3flow.cli.queries import redrive
from s3flow.cli.target import Target
from s3flow.local.pipeline import FlowEvent, LocalPipeline
from s3flow.testing.ledger import Ledger, ObjectVersion, count

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "TapStackdev"
FUNCTION = "s3-object-processor-dev"
PUBLISHER = "s3-event-publisher-dev"
FAST_RETRIES = (0.2, 0.4)
FAST_STREAM_RETRIES = (0.05, 0.1)
WORKER_ENVIRONMENT = {"AWS_MAX_ATTEMPTS": "2"}  # the client's attempts in the worker, shortened
PUBLISHER_ENVIRONMENT = {"AWS_MAX_ATTEMPTS": "1"}
IDLE = 120.0
OBJECTS = 30


class Redriven(NamedTuple):
    events: int  # processor failure-queue messages re-invoked
    batches: int  # publisher failure-queue messages republished


class Run:
    """A started pipeline with the objects a test uploaded, and ways to count them."""

    def __init__(self, pipeline: LocalPipeline, flows: list[FlowEvent], seed: int) -> None:
        self.pipeline = pipeline
        self.flows = flows
        self.seed = seed
        self.outputs = pipeline.deployment.outputs
        self.uploaded: list[ObjectVersion] = []
        self.function = FUNCTION
        self.publisher = self.outputs["PublisherFunctionName"]
        self.worker_environment = dict(WORKER_ENVIRONMENT)
        self.publisher_environment = dict(PUBLISHER_ENVIRONMENT)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.pipeline.endpoint_url, region_name="us-east-1")

    def upload(self, count_: int = OBJECTS, *, prefix: str = "faults", versions: int = 1) -> list[str]:
        """``count_`` keys (``versions`` versions each) with seeded names and sizes."""
        rng = random.Random(self.seed)
        s3, bucket = self.client("s3"), self.outputs["S3BucketName"]
        keys = [f"{prefix}/{index:03d}-{rng.randrange(16**6):06x} é+%.bin" for index in range(count_)]
        for version in range(versions):
            for key in keys:
                body = rng.randbytes(rng.choice((0, 1, 700, 5000))) + bytes([version])
                put = s3.put_object(Bucket=bucket, Key=key, Body=body)
                self.uploaded.append((key, put.get("VersionId")))
        return keys

    def settle(self) -> None:
        assert self.pipeline.wait_idle(IDLE), self.explain("the pipeline did not go idle")

    def count(self) -> Ledger:
        self.settle()
        ledger = count(self.uploaded, endpoint_url=self.pipeline.endpoint_url, outputs=self.outputs)
        print(f"seed {self.seed}: {ledger.summary()}")  # shown with -s: the figures in docs/reliability.md
        return ledger

    def redrive(self) -> Redriven:
        """The CLI's ``redrive``: every processor failure's original event invoked again, then
        every publisher failure's stream batch read back and republished."""
        target = Target(STACK_NAME, self.pipeline.endpoint_url, "us-east-1")
        events = redrive(target)
        assert not events.rejected, self.explain(f"redrive rejected {events.rejected}")
        self.settle()
        batches = redrive_batches(target)
        assert not batches.rejected and not batches.expired, self.explain(
            f"batch redrive: not published {batches.rejected}, gone from the stream {batches.expired}"
        )
        self.settle()
        return Redriven(len(events.redriven), len(batches.republished))

    def explain(self, what: str) -> str:
        return f"{what} (seed {self.seed}; replay with S3FLOW_FAULT_SEED={self.seed})"

    def assert_promise(self, ledger: Ledger, *, failed: int | None = None) -> None:
        """Nothing lost, duplicated or stray; when given, exactly ``failed`` versions retained."""
        assert ledger.holds(), self.explain(ledger.summary())
        if failed is not None:
            assert len(ledger.failed) == failed, self.explain(ledger.summary())

    def received_records(self) -> list[dict[str, Any]]:
        """The S3 records as S3 delivered them, one per uploaded version."""
        found: dict[str, dict[str, Any]] = {}
        for flow in self.flows:
            if str(flow.kind) == "received" and isinstance(flow.payload, dict):
                for record in flow.payload.get("Records") or []:
                    found.setdefault(
                        record["s3"]["object"].get("versionId") or record["s3"]["object"]["key"], record
                    )
        return list(found.values())


@pytest.fixture
def start_run(synthesized: Path) -> Iterator[Callable[..., Run]]:
    started: list[LocalPipeline] = []

    def start(seed: int) -> Run:
        flows: list[FlowEvent] = []
        pipeline = LocalPipeline(
            synthesized,
            STACK_NAME,
            port=0,
            concurrency=2,
            on_flow=flows.append,
            retry_delays=FAST_RETRIES,
            stream_retry_delays=FAST_STREAM_RETRIES,
            environment_overrides={FUNCTION: WORKER_ENVIRONMENT, PUBLISHER: PUBLISHER_ENVIRONMENT},
        )
        pipeline.start()
        started.append(pipeline)
        return Run(pipeline, flows, seed)

    yield start
    for pipeline in started:
        pipeline.stop()
