"""What each function does per object and per invocation, measured by the benchmark.

``MEASURED`` holds the numbers of the full run quoted in docs/performance.md (sections 2
and 5), for ``python -m bench capacity`` run alone; ``python -m bench`` measures them again in
the same run (``Work.from_warm``). Times are local CPU; ``bench.cost``'s assumptions turn them
into Lambda durations (CPU share by memory, an assumed round trip per API call).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench import cost
from bench.capacity import quotas

if TYPE_CHECKING:
    from bench.warm import SizeResult


@dataclass(frozen=True)
class Work:
    source: str
    processor_cpu_ms: float  # per object (one record per S3 event)
    processor_calls: dict[str, float]  # service -> calls per object
    processor_log_bytes: float  # per invocation
    publisher_cpu_ms_fixed: float  # per invocation
    publisher_cpu_ms_per_record: float
    publisher_log_bytes: float  # per invocation
    item_write_units: float  # WRU per object, table
    index_write_units: float  # WRU per object, time index
    event_bytes: float  # one event's entry

    @classmethod
    def from_warm(cls, processor: SizeResult, one: SizeResult, full: SizeResult, source: str) -> Work:
        """From the warm run's SizeResults: the processor's, the publisher's with one record
        per batch (``one``) and with full batches (``full``)."""
        n1, n2 = one.records_per_batch(), full.records_per_batch()
        cpu1, cpu2 = one.per_object("cpu_ms") * n1, full.per_object("cpu_ms") * n2  # per invocation
        per_record = max(0.0, (cpu2 - cpu1) / (n2 - n1)) if n2 > n1 else cpu2 / max(n2, 1)
        calls: dict[str, float] = {}
        for name, n in processor.calls_by_operation().items():
            service = name.split(":")[0]
            calls[service] = calls.get(service, 0.0) + n
        return cls(
            source=source,
            processor_cpu_ms=processor.per_object("cpu_ms"),
            processor_calls=calls,
            processor_log_bytes=processor.per_object("log_bytes"),
            publisher_cpu_ms_fixed=max(0.0, cpu1 - per_record * n1),
            publisher_cpu_ms_per_record=per_record,
            publisher_log_bytes=one.per_object("log_bytes") * n1,
            item_write_units=processor.billed_per_object("write_units"),
            index_write_units=processor.billed_per_object("index_write_units"),
            event_bytes=full.billed_per_object("event_bytes")
            / max(full.billed_per_object("event_entries"), 1e-9),
        )


# docs/performance.md, full run of 2026-11-25 11:46 UTC (commit 79e3c1c), 1-record events:
# processor CPU 0.9 ms, one PutItem, 631 log bytes, 2.00 WRU (1 item + 1 index); publisher CPU
# 0.9 ms per object with one record per batch and 0.2 ms with batches of 100 (so ~0.71 ms per
# invocation plus ~0.19 ms per record), 432 log bytes per invocation, events of 770 bytes.
MEASURED = Work(
    source="docs/performance.md, full run of 2026-11-25 (commit 79e3c1c)",
    processor_cpu_ms=0.9,
    processor_calls={"dynamodb": 1.0},
    processor_log_bytes=631,
    publisher_cpu_ms_fixed=0.9 - (0.2 * 100 - 0.9) / 99,
    publisher_cpu_ms_per_record=(0.2 * 100 - 0.9) / 99,
    publisher_log_bytes=432,
    item_write_units=1.0,
    index_write_units=1.0,
    event_bytes=770,
)


def cpu_scale(memory_mb: int) -> float:
    """Lambda's CPU share as bench.cost scales it, never faster than one full vCPU: the
    functions run one thread."""
    return max(1.0, cost.FULL_VCPU_MB / memory_mb)


def processor_ms(work: Work, memory_mb: int) -> float:
    wait = sum(n * cost.CALL_MS.get(service, 10.0) for service, n in work.processor_calls.items())
    return work.processor_cpu_ms * cpu_scale(memory_mb) + wait


@dataclass(frozen=True)
class Publisher:
    """How long one publisher invocation takes, and so the rate of one shard's batches.

    ``concurrent_chunks``: PutEvents requests of one batch in flight at once (1: one after
    the other, as the publisher sends them today; ``None``: all of the batch's at once).
    ``call_ms``: one PutEvents round trip (bench.cost's assumption by default).
    """

    work: Work
    memory_mb: int
    concurrent_chunks: int | None = 1
    call_ms: float = cost.CALL_MS["events"]

    def invocation_ms(self, records: float) -> float:
        cpu = (
            self.work.publisher_cpu_ms_fixed + self.work.publisher_cpu_ms_per_record * records
        ) * cpu_scale(self.memory_mb)
        calls = math.ceil(records / quotas.value("eventbridge_entries_per_put"))
        waves = 1 if self.concurrent_chunks is None else math.ceil(calls / self.concurrent_chunks)
        return cpu + waves * self.call_ms

    def shard_rate(self, batch_size: int) -> float:
        """Records per second one batch-at-a-time reader of a busy shard publishes."""
        return batch_size / (self.invocation_ms(batch_size) / 1000)
