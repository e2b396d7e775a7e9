"""2. Warm cost per object: wall time, CPU and AWS API calls per object, for 1, 5 and 50 records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import paths
from bench.emulator import Emulator
from bench.events import ObjectFactory
from bench.report import Table, ms, x
from bench.runner import ChildFailed, run_child
from bench.sides import PUBLISHER_FUNCTION, Side
from bench.stats import median, ratio
from s3flow import contract

SIZES = (1, 5, 50)
# Stream batch shapes fed to our publisher: each invocation's records alone (a quiet stream:
# the poller finds only them) and full batches of the mapping's BatchSize (a busy stream).
PER_EVENT, FULL = "per_event", "full"
SHAPES = {PER_EVENT: "batch = one event's records", FULL: f"batch of {contract.PUBLISHER_BATCH_SIZE}"}


def floor_calls(records: int) -> float:
    """One DynamoDB write per object plus one PutEvents per ten objects, per object."""
    return (records + -(-records // 10)) / records


@dataclass
class SizeResult:
    records: int
    blocks: list[dict[str, Any]] = field(default_factory=list)  # one per repeat

    def per_object(self, key: str) -> float:
        return median([b[key] / b["objects"] for b in self.blocks])

    def count_per_object(self, operation: str) -> float:
        return median([b["calls"].get(operation, 0) / b["objects"] for b in self.blocks])

    def records_per_batch(self) -> float:
        return median([b["objects"] / max(1, b["invocations"]) for b in self.blocks])

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
    # Ours only: the publisher fed the stream records of the same objects, per batch shape.
    publisher: dict[str, dict[int, SizeResult]] = field(default_factory=dict)

    def total_calls(self, records: int, shape: str) -> float:
        """API calls per object of the whole design: processor plus, for ours, its publisher."""
        calls = self.sizes[records].calls_per_object()
        if self.publisher:
            calls += self.publisher[shape][records].calls_per_object()
        return calls


def measure(
    sides: list[Side], emulator: Emulator, repeats: int, invocations: dict[int, int], scratch: Path
) -> list[WarmResult]:
    """``sides`` named "ours" also run the publisher on the stream records their writes made."""
    assert emulator.resources is not None
    objects = ObjectFactory(emulator.client("s3"), emulator.resources.bucket, "warm")
    results = {s: WarmResult(s, {n: SizeResult(n) for n in SIZES}) for s in sides}
    for side in sides:
        if side.name == "ours":
            results[side].publisher = {shape: {n: SizeResult(n) for n in SIZES} for shape in SHAPES}
    for repeat in range(repeats):
        for side in sides if repeat % 2 == 0 else list(reversed(sides)):
            result = results[side]
            if result.failure:
                continue
            spec: dict[str, Any] = {
                "mode": "warm",
                "warmup_event": objects.event(1),
                "blocks": [
                    {"records": n, "events": [objects.event(n) for _ in range(invocations[n])]} for n in SIZES
                ],
            }
            if result.publisher:
                spec["publisher"] = {
                    "module": paths.OUR_PUBLISHER_MODULE,
                    "function_name": PUBLISHER_FUNCTION,
                    "batch_size": contract.PUBLISHER_BATCH_SIZE,
                    # The processor's environment has no bus; the publisher's function has one.
                    "env": {contract.ENV_EVENT_BUS_NAME: emulator.resources.event_bus_name},
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
                for shape, phase in block.get("publisher", {}).items():
                    result.publisher[shape][block["records"]].blocks.append(phase)
                    result.sample_errors.extend(phase["errors"])
    return [results[s] for s in sides]


def table(results: list[WarmResult], repeats: int) -> Table:
    t = Table(
        f"Warm cost per object (median of {repeats} warm containers per side)",
        ["records/event", "function", "wall/object", "CPU/object", "waiting on AWS/object",
         "API calls/object", "floor", "calls by operation (time in them)", "billed/object",
         "records kept/object", "log bytes/object", "failed invocations"],
    )  # fmt: skip
    for n in SIZES:
        for r in results:
            if r.failure or not r.sizes[n].blocks:
                t.add(n, r.side.label, "failed", *[""] * 9)
                continue
            s = r.sizes[n]
            kept = f"{s.per_object('items_written'):.2f}"
            if r.publisher:  # half of the design: the floor is for processor + publisher, below
                t.add(n, f"{r.side.label} processor", *_cells(s, kept, ""))
            else:
                t.add(n, r.side.label, *_cells(s, kept, f"{floor_calls(n):.2f}"))
            for shape, label in SHAPES.items():
                p = r.publisher.get(shape, {}).get(n)
                if p is None or not p.blocks:
                    continue
                t.add(n, f"{r.side.label} publisher, {label} ({p.records_per_batch():.0f} records)",
                      *_cells(p, "", ""))  # fmt: skip
            for shape, label in SHAPES.items():
                p = r.publisher.get(shape, {}).get(n)
                if p is None or not p.blocks:
                    continue
                t.add(
                    n, f"{r.side.label} processor + publisher, {label}",
                    ms(s.per_object("wall_ms") + p.per_object("wall_ms")),
                    ms(s.per_object("cpu_ms") + p.per_object("cpu_ms")),
                    ms(s.call_ms_per_object() + p.call_ms_per_object()),
                    f"{r.total_calls(n, shape):.2f}", f"{floor_calls(n):.2f}", "", "", "",
                    f"{s.per_object('log_bytes') + p.per_object('log_bytes'):,.0f}", "",
                )  # fmt: skip
        by = {r.side.name: r for r in results if not r.failure and r.sizes[n].blocks}
        if "ours" in by and "reference" in by:
            a, b = by["ours"], by["reference"].sizes[n]
            for shape, label in SHAPES.items():
                p = a.publisher.get(shape, {}).get(n)
                if p is None or not p.blocks:
                    continue
                s = a.sizes[n]
                t.add(
                    n, f"ratio ours (processor + publisher, {label}) / reference",
                    x(ratio(s.per_object("wall_ms") + p.per_object("wall_ms"), b.per_object("wall_ms"))),
                    x(ratio(s.per_object("cpu_ms") + p.per_object("cpu_ms"), b.per_object("cpu_ms"))),
                    x(ratio(s.call_ms_per_object() + p.call_ms_per_object(), b.call_ms_per_object())),
                    x(ratio(a.total_calls(n, shape), b.calls_per_object())), "", "", "", "", "", "",
                )  # fmt: skip
            t.add(
                n, "ratio ours processor / reference",
                x(ratio(a.sizes[n].per_object("wall_ms"), b.per_object("wall_ms"))),
                x(ratio(a.sizes[n].per_object("cpu_ms"), b.per_object("cpu_ms"))),
                x(ratio(a.sizes[n].call_ms_per_object(), b.call_ms_per_object())),
                x(ratio(a.sizes[n].calls_per_object(), b.calls_per_object())), "", "", "", "", "", "",
            )  # fmt: skip
    return t


def _cells(s: SizeResult, kept: str, floor: str) -> list[str]:
    spent = s.call_ms_by_operation()
    ops = ", ".join(f"{op} {v:.2f} ({ms(spent.get(op, 0.0))})" for op, v in s.calls_by_operation().items())
    return [
        ms(s.per_object("wall_ms")), ms(s.per_object("cpu_ms")), ms(s.call_ms_per_object()),
        f"{s.calls_per_object():.2f}", floor, ops, _billed(s), kept, f"{s.per_object('log_bytes'):,.0f}",
        str(s.errors),
    ]  # fmt: skip


def _billed(s: SizeResult) -> str:
    if not s.billed_per_object("item_writes"):
        return _events_billed(s)
    return f"{_writes_billed(s)}; {_events_billed(s)}"


def _events_billed(s: SizeResult) -> str:
    entries, event_bytes = s.billed_per_object("event_entries"), s.billed_per_object("event_bytes")
    if not entries:
        return "no events"
    return f"{s.billed_per_object('event_chunks'):.2f} events ({event_bytes / entries:,.0f} B each)"


def _writes_billed(s: SizeResult) -> str:
    table, index = s.billed_per_object("write_units"), s.billed_per_object("index_write_units")
    writes, size = s.billed_per_object("item_writes"), s.billed_per_object("item_bytes")
    index_writes = s.billed_per_object("index_writes")
    return (
        f"{table + index:.2f} WRU ({writes:.2f} writes of {size / max(writes, 1e-9):,.0f} B, "
        f"{index_writes:.2f} to the index)"
    )
