"""A started local pipeline, as a test of a team's stack uses it (the ``s3flow_pipeline`` fixture).

One ``LocalPipeline`` serves every test of a module; each test gets its own ``PipelineTest``
view of it, which answers about the object versions that test uploaded only: ``records``,
``events`` and ``failures`` are read with the ledger (``s3flow.testing.ledger.count``) and
filtered to those versions, ``flows`` to what was reported since the test began. Faults a
test injects are cleared when it ends. The bucket, table, log group and queues are shared
by the module's tests: what an earlier test left there stays (another version of the same
key, a message in a failure queue), it is only not shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from s3flow.testing.ledger import Ledger, ObjectVersion, count

if TYPE_CHECKING:
    from s3flow.local.pipeline import FlowEvent, LocalPipeline

IDLE_SECONDS = 120.0
# Seconds before each async retry and each stream batch retry: Lambda waits minutes.
FAST_RETRIES = (0.2, 0.4)
FAST_STREAM_RETRIES = (0.05, 0.1)


class Fault(Protocol):
    def install(self, pipeline: LocalPipeline) -> None: ...

    def clear(self) -> None: ...


def start(cloud_assembly: Path, stack_name: str, flows: list[FlowEvent], **options: Any) -> LocalPipeline:
    """A started pipeline of the stack on a free port, with fast retries, reporting into ``flows``."""
    from s3flow.local.pipeline import LocalPipeline

    pipeline = LocalPipeline(
        cloud_assembly,
        stack_name,
        port=0,
        concurrency=2,
        on_flow=flows.append,
        **{"retry_delays": FAST_RETRIES, "stream_retry_delays": FAST_STREAM_RETRIES, **options},
    )
    pipeline.start()
    return pipeline


class PipelineTest:
    """One test's view of a running pipeline: what it uploads, waits for and reads back."""

    def __init__(self, pipeline: LocalPipeline, flows: list[FlowEvent]) -> None:
        self.pipeline = pipeline
        self.outputs: Mapping[str, str] = pipeline.deployment.outputs
        self.endpoint_url = pipeline.endpoint_url
        self.uploaded: list[ObjectVersion] = []
        self._all_flows = flows
        self._first_flow = len(flows)
        self._faults: list[Fault] = []

    def client(self, service: str) -> Any:
        """A boto3 client for the pipeline's endpoint."""
        from s3flow.local.credentials import emulator_client

        return emulator_client(service, endpoint_url=self.endpoint_url, region="us-east-1")

    @property
    def bucket(self) -> str:
        return self.outputs["S3BucketName"]

    def upload(self, key: str, body: bytes | str | Path) -> str | None:
        """Puts ``body`` (bytes, text, or a file's bytes) at ``key``; the version id S3 gave it."""
        data = Path(body).read_bytes() if isinstance(body, Path) else body
        put = self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)
        version = put.get("VersionId")
        self.uploaded.append((key, version))
        return version

    def wait(self, timeout: float = IDLE_SECONDS) -> None:
        """Until nothing is queued, running or waiting to retry, failing the test after ``timeout``."""
        if not self.pipeline.wait_idle(timeout):
            raise AssertionError(f"the local pipeline did not go idle in {timeout:g}s")

    def ledger(self) -> Ledger:
        """What the pipeline holds for this test's uploads (waits first)."""
        self.wait()
        return count(self.uploaded, endpoint_url=self.endpoint_url, outputs=self.outputs)

    def _of(
        self, found: Mapping[ObjectVersion, list[dict[str, Any]]], key: str | None
    ) -> list[dict[str, Any]]:
        return [
            entry
            for version in self.uploaded
            if key is None or version[0] == key
            for entry in found.get(version, [])
        ]

    def records(self, key: str | None = None) -> list[dict[str, Any]]:
        """The table's items of this test's uploads (of ``key``), numbers as Decimals."""
        return self._of(self.ledger().records, key)

    def events(self, key: str | None = None) -> list[dict[str, Any]]:
        """The details of the events that reached the event log group for this test's uploads."""
        return self._of(self.ledger().events, key)

    def failures(self, key: str | None = None) -> list[dict[str, Any]]:
        """The messages of both failure queues (processor and publisher) about this test's
        uploads, left in the queues."""
        return self._of(self.ledger().failures, key)

    def flows(self, key: str | None = None) -> list[FlowEvent]:
        """What the pipeline reported since this test began (about ``key``)."""
        return [flow for flow in self._all_flows[self._first_flow :] if key is None or flow.key == key]

    def kinds(self, key: str) -> list[str]:
        """The object's journey: the kinds of its flow events but the functions' log lines."""
        return [str(flow.kind) for flow in self.flows(key) if str(flow.kind) != "logged"]

    def inject(self, fault: Fault) -> Fault:
        """Installs a fault of ``s3flow.testing.faults`` (proxy, workers, event_age); cleared
        when the test ends."""
        fault.install(self.pipeline)
        self._faults.append(fault)
        return fault

    def finish(self) -> None:
        """Clears the test's faults and lets what they left in flight settle."""
        for fault in reversed(self._faults):
            fault.clear()
        self._faults.clear()
        self.pipeline.wait_idle(IDLE_SECONDS)
