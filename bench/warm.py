"""2. Warm cost per object: wall time, CPU and AWS API calls per object, for 1, 5 and 50 records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.emulator import Emulator
from bench.events import ObjectFactory
from bench.report import Table, ms, x
from bench.runner import ChildFailed, run_child
from bench.sides import Side
from bench.stats import median, ratio

SIZES = (1, 5, 50)


def floor_calls(records: int) -> float:
    """One DynamoDB write per object plus one PutEvents per ten objects, per object."""
    return (records + -(-records // 10)) / records


@dataclass
class SizeResult:
    records: int
    blocks: list[dict[str, Any]] = field(default_factory=list)  # one per repeat

    def per_object(self, key: str) -> float:
        return median([b[key] / b["objects"] for b in self.blocks])

    def calls_per_object(self) -> float:
        return median([sum(b["calls"].values()) / b["objects"] for b in self.blocks])

    def call_ms_per_object(self) -> float:
        return median([sum(b["call_ms"].values()) / b["objects"] for b in self.blocks])

    def call_ms_by_operation(self) -> dict[str, float]:
        names = sorted({n for b in self.blocks for n in b["call_ms"]})
        return {n: median([b["call_ms"].get(n, 0.0) / b["objects"] for b in self.blocks]) for n in names}

    def billed_per_object(self, name: str) -> float:
        return median([b["billed"].get(name, 0) / b["objects"] for b in self.blocks])

    def calls_by_operation(self) -> dict[str, float]:
        names = sorted({n for b in self.blocks for n in b["calls"]})
        return {n: median([b["calls"].get(n, 0) / b["objects"] for b in self.blocks]) for n in names}

    @property
    def errors(self) -> int:
        return sum(b["error_count"] for b in self.blocks)


@dataclass
class WarmResult:
    side: Side
    sizes: dict[int, SizeResult]
    peak_rss_mb: list[float] = field(default_factory=list)
    failure: str | None = None
    sample_errors: list[str] = field(default_factory=list)


def measure(
    sides: list[Side], emulator: Emulator, repeats: int, invocations: dict[int, int], scratch: Path
) -> list[WarmResult]:
    assert emulator.resources is not None
    objects = ObjectFactory(emulator.client("s3"), emulator.resources.bucket, "warm")
    results = {s: WarmResult(s, {n: SizeResult(n) for n in SIZES}) for s in sides}
    for repeat in range(repeats):
        for side in sides if repeat % 2 == 0 else list(reversed(sides)):
            result = results[side]
            if result.failure:
                continue
            spec = {
                "mode": "warm",
                "warmup_event": objects.event(1),
                "blocks": [
                    {"records": n, "events": [objects.event(n) for _ in range(invocations[n])]} for n in SIZES
                ],
            }
            try:
                run = run_child(side, spec, emulator.resources, scratch)
            except ChildFailed as failure:
                result.failure = str(failure)
                continue
            result.peak_rss_mb.append(run.result["peak_rss_mb"])
            for block in run.result["blocks"]:
                result.sizes[block["records"]].blocks.append(block)
                result.sample_errors.extend(block["errors"])
    return [results[s] for s in sides]


def table(results: list[WarmResult], repeats: int) -> Table:
    t = Table(
        f"Warm cost per object (median of {repeats} warm containers per side)",
        ["records/event", "handler", "wall/object", "CPU/object", "waiting on AWS/object", "API calls/object",
         "floor", "calls by operation (time in them)", "billed/object", "records kept/object",
         "log bytes/object", "failed invocations"],
    )  # fmt: skip
    for n in SIZES:
        for r in results:
            if r.failure or not r.sizes[n].blocks:
                t.add(n, r.side.label, "failed", *[""] * 9)
                continue
            s = r.sizes[n]
            spent = s.call_ms_by_operation()
            ops = ", ".join(
                f"{op} {v:.2f} ({ms(spent.get(op, 0.0))})" for op, v in s.calls_by_operation().items()
            )
            t.add(
                n, r.side.label, ms(s.per_object("wall_ms")), ms(s.per_object("cpu_ms")),
                ms(s.call_ms_per_object()),
                f"{s.calls_per_object():.2f}", f"{floor_calls(n):.2f}", ops, _billed(s),
                f"{s.per_object('items_written'):.2f}", f"{s.per_object('log_bytes'):,.0f}", s.errors,
            )  # fmt: skip
        if len(results) == 2 and all(r.sizes[n].blocks for r in results):
            a, b = (r.sizes[n] for r in results)
            t.add(
                n, "ratio ours / reference", x(ratio(a.per_object("wall_ms"), b.per_object("wall_ms"))),
                x(ratio(a.per_object("cpu_ms"), b.per_object("cpu_ms"))),
                x(ratio(a.call_ms_per_object(), b.call_ms_per_object())),
                x(ratio(a.calls_per_object(), b.calls_per_object())), "", "", "", "", "", "",
            )  # fmt: skip
    return t


def _billed(s: SizeResult) -> str:
    table, index = s.billed_per_object("write_units"), s.billed_per_object("index_write_units")
    writes, size = s.billed_per_object("item_writes"), s.billed_per_object("item_bytes")
    index_writes = s.billed_per_object("index_writes")
    entries, event_bytes = s.billed_per_object("event_entries"), s.billed_per_object("event_bytes")
    return (
        f"{table + index:.2f} WRU ({writes:.2f} writes of {size / max(writes, 1e-9):,.0f} B, "
        f"{index_writes:.2f} to the index); {s.billed_per_object('event_chunks'):.2f} events "
        f"({event_bytes / max(entries, 1e-9):,.0f} B each)"
    )
