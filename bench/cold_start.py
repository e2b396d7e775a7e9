"""1. Cold start: a fresh interpreter imports the handler and serves its first event."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.emulator import Emulator
from bench.events import ObjectFactory
from bench.report import Table, mb, ms, x
from bench.runner import ChildFailed, ChildRun, run_child
from bench.sides import PUBLISHER, Side
from bench.stats import median, ratio
from bench.stream import StreamReader
from s3flow import contract

METRICS = (
    "import_ms",
    "first_invoke_ms",
    "cold_ms",
    "cold_cpu_ms",
    "process_ms",
    "peak_rss_mb",
    "trace_datagrams",
)


@dataclass
class ColdResult:
    side: Side
    runs: list[dict[str, float]]
    failure: str | None = None

    def median(self, metric: str) -> float:
        return median([run[metric] for run in self.runs])


def _flatten(run: ChildRun) -> dict[str, float]:
    r = run.result
    return {
        "import_ms": r["import_ms"],
        "first_invoke_ms": r["first_invoke_ms"],
        "cold_ms": r["import_ms"] + r["first_invoke_ms"],
        "cold_cpu_ms": r["cold_cpu_ms"],
        "process_ms": run.process_ms,
        "peak_rss_mb": r["peak_rss_mb"],
        "trace_datagrams": run.trace_datagrams,
    }


def measure(
    pairs: list[tuple[Side, Side]],
    emulator: Emulator,
    repeats: int,
    scratch: Path,
    extra: tuple[Side, ...] = (),
) -> list[ColdResult]:
    """Runs every side ``repeats`` times, interleaved, alternating which goes first.

    Processor sides get an S3 event of one new object; publisher sides a stream batch holding
    the record one of our processor's cold starts wrote (the same record each time).
    """
    resources = emulator.resources
    assert resources is not None
    objects = ObjectFactory(emulator.client("s3"), resources.bucket, "cold")
    sides = list(dict.fromkeys([side for pair in pairs for side in pair] + list(extra)))
    results = {side: ColdResult(side, []) for side in sides}
    streams = emulator.client("dynamodbstreams")
    stream = StreamReader(emulator.client("dynamodb"), streams, resources.table_name)
    stream.new_records()
    batch: list[dict[str, Any]] = []

    def event(side: Side) -> dict[str, Any]:
        if side.role != PUBLISHER:
            return objects.event(1)
        if not batch:
            # Ours carry the time index key; the reference's items (same table) do not.
            index_key = contract.TIME_INDEX_PARTITION_KEY
            ours = [r for r in stream.new_records() if index_key in r["dynamodb"].get("NewImage", {})]
            batch.extend(ours[-1:])
        return {"Records": batch}

    def once(side: Side) -> None:
        spec: dict[str, Any] = {"mode": "cold", "event": event(side)}
        try:
            results[side].runs.append(_flatten(run_child(side, spec, resources, scratch)))
        except ChildFailed as failure:
            results[side].failure = str(failure)

    for side in sides:  # warm the shared bytecode cache and the emulator; discarded
        if not side.as_shipped:
            try:
                run_child(side, {"mode": "cold", "event": event(side)}, resources, scratch)
            except ChildFailed as failure:
                results[side].failure = str(failure)
    for repeat in range(repeats):
        for side in sides if repeat % 2 == 0 else list(reversed(sides)):
            if results[side].failure is None:
                once(side)
    return [results[side] for side in sides]


def table(results: list[ColdResult], pairs: list[tuple[Side, Side]], repeats: int) -> Table:
    t = Table(
        f"Cold start (median of {repeats} fresh interpreters per row, tracing on)",
        ["handler", "import", "first event", "import + first event", "its CPU time", "process spawn to exit",
         "peak RSS", "trace documents sent"],
    )  # fmt: skip
    by_side = {r.side: r for r in results}
    for r in results:
        if r.failure or not r.runs:
            t.add(r.side.label, "failed", *[""] * 6)
            continue
        t.add(
            r.side.label, ms(r.median("import_ms")), ms(r.median("first_invoke_ms")), ms(r.median("cold_ms")),
            ms(r.median("cold_cpu_ms")),
            ms(r.median("process_ms")), mb(r.median("peak_rss_mb")), f"{r.median('trace_datagrams'):.0f}",
        )  # fmt: skip
    for ours, reference in pairs:
        a, b = by_side[ours], by_side[reference]
        if a.runs and b.runs:
            t.add(
                f"ratio {ours.label} / {reference.label}",
                *(x(ratio(a.median(m), b.median(m))) for m in METRICS[:6]),
                "",
            )
    return t
