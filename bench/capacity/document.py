"""docs/capacity.md and docs/capacity-burst.png, from one run of the model."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from bench import cost
from bench.capacity import model, simulation
from bench.capacity.model import Pipeline
from bench.capacity.quotas import QUOTAS, REGION
from bench.capacity.simulation import Run
from bench.report import Table, usd

REPORTED_RATES = (100, 1_000, 10_000)


@dataclass(frozen=True)
class Context:
    command: str
    started: datetime
    commit: str
    template: str


def objects(rate: float) -> str:
    return "never (for this stack)" if math.isinf(rate) else f"{rate:,.0f}"


def limits_table(p: Pipeline, rate: float) -> Table:
    t = Table(
        f"Limits on the path at {rate:,.0f} objects/s",
        [
            "limit",
            "binds at (objects/s)",
            f"at {rate:,.0f} objects/s",
            "raised by",
            "stack setting",
            "AWS page",
        ],
    )
    for limit in sorted(model.limits(p, rate), key=lambda lim: lim.binds_at):
        over = " **(exceeded)**" if limit.binds_at < rate else ""
        t.add(
            limit.name,
            objects(limit.binds_at) + over,
            limit.at_rate,
            limit.raised_by,
            ", ".join(f"`{key}`" for key in limit.setting.split(", ")) if limit.setting else "",
            " ".join(limit.urls()),
        )
    return t


def summary_table(p: Pipeline, rates: tuple[float, ...]) -> Table:
    t = Table(
        "The first limit to bind, and the cost per million objects, at each rate",
        ["objects/s", "first to bind", "at (objects/s)", "headroom", "records per publisher invocation",
         "cost per million", "floor", "cost / floor"],
    )  # fmt: skip
    for rate in rates:
        first, bill = model.binding(p, rate), model.cost_at(p, rate)
        t.add(
            f"{rate:,.0f}",
            first.name,
            objects(first.binds_at),
            f"{first.binds_at / rate:.2f}x"
            if first.binds_at >= rate
            else f"over by {rate / first.binds_at:.1f}x",
            f"{bill.records_per_batch:,.1f}",
            usd(bill.total),
            usd(bill.floor_total),
            f"{bill.total / bill.floor_total:.2f}x",
        )
    return t


def cost_table(p: Pipeline, rates: tuple[float, ...]) -> Table:
    bills = [model.cost_at(p, rate) for rate in rates]
    t = Table("Cost per million objects by rate (us-east-1 on-demand prices, bench/cost.py)",
              ["line", *(f"{b.rate:,.0f} objects/s" for b in bills), "floor"])  # fmt: skip
    for line in bills[0].lines:
        t.add(line, *(usd(b.lines[line]) for b in bills), usd(bills[0].floor.get(line, 0.0)))
    t.add("total", *(usd(b.total) for b in bills), usd(bills[0].floor_total))
    return t


def quotas_table() -> Table:
    t = Table(
        f"Quotas ({REGION} where they differ by region)", ["quota", "default", "adjustable", "AWS page"]
    )
    for q in QUOTAS.values():
        shown = "unlimited" if math.isinf(q.value) else f"{q.value:,g} {q.unit}"
        t.add(q.name, shown, "yes" if q.adjustable else "no", q.url)
    return t


def publisher_table(p: Pipeline) -> Table:
    """The publisher's modelled rate per shard by PutEvents in flight and memory, the rest as deployed."""
    s = p.stack
    t = Table("The publisher's rate per shard (modelled), by PutEvents in flight and its memory",
              ["PutEvents in flight", "publisher memory", f"invocation (batch of {s.batch_size})",
               "objects/s per shard", f"x parallelization factor {s.parallelization_factor}",
               "binds at (objects/s)"])  # fmt: skip
    for in_flight in sorted({1, s.put_concurrency, 10}):
        for memory in sorted({s.publisher_memory_mb, cost.FULL_VCPU_MB}):
            q = replace(p, put_concurrency=in_flight, measured_shard_rate=None,
                        stack=replace(s, publisher_memory_mb=memory))  # fmt: skip
            rate = q.publisher.shard_rate(s.batch_size)
            invocation = q.publisher.invocation_ms(s.batch_size)
            deployed = (
                " (deployed)" if (in_flight, memory) == (s.put_concurrency, s.publisher_memory_mb) else ""
            )
            t.add(f"{in_flight}{deployed}", f"{memory:,} MB", f"{invocation:,.0f} ms", f"{rate:,.0f}",
                  f"{q.shard_rate:,.0f}", objects(q.publisher_binds_at()))  # fmt: skip
    return t


def burst_lines(run: Run, p: Pipeline) -> list[str]:
    drained = run.drained_at()
    first = model.binding(p, run.burst_rate)
    after = (
        f"Drained {drained - run.burst_end:,} s after the burst ended."
        if drained is not None
        else ("Not drained by the end of the day.")
    )
    return [
        f"- Base rate {run.base_rate:,.0f} objects/s all day; a burst of {run.burst_rate:,.0f} objects/s for "
        f"{run.burst_s} s at {run.burst_start / 3600:g}:00 ({run.burst_rate * run.burst_s:,.0f} objects).",
        f"- Peak backlog: {run.peak_backlog():,.0f} objects (processor's async queue "
        f"{max(run.async_queue):,.0f}, stream {max(run.stream_backlog):,.0f}, log-group deliveries "
        f"{max(run.delivery_backlog):,.0f}). {after}",
        "- Longest lag (queueing, on top of the per-object latency): upload to record "
        f"{max(run.record_lag):,.0f} s, upload to event {max(run.event_lag):,.0f} s, stream iterator age "
        f"{max(run.iterator_age):,.0f} s, upload to the log group {max(run.delivery_lag):,.0f} s.",
        f"- First to bind at {run.burst_rate:,.0f} objects/s: {first.name} at {objects(first.binds_at)} "
        f"objects/s. The uploads themselves need keys over at least {math.ceil(run.burst_rate / 3500)} "
        "prefixes (S3's 3,500 PUT/s per partitioned prefix).",
    ]


def what_if_lines(run: Run, p: Pipeline) -> list[str]:
    """The same day with the publisher's parallelization factor at its most (10)."""
    if p.stack.parallelization_factor >= 10:
        return []
    q = replace(p, stack=replace(p.stack, parallelization_factor=10))
    other = simulation.simulate(q, run.base_rate, burst_rate=run.burst_rate, burst_s=run.burst_s,
                                burst_start=run.burst_start, seconds=len(run.async_queue))  # fmt: skip
    drained = other.drained_at()
    after = (
        f"drained {drained - other.burst_end:,} s after the burst" if drained is not None else "not drained"
    )
    return [
        f"- The same day with `publisherParallelizationFactor=10`: peak backlog {other.peak_backlog():,.0f}, "
        f"{after}, longest upload to event {max(other.event_lag):,.0f} s; first to bind at "
        f"{run.burst_rate:,.0f} objects/s: {model.binding(q, run.burst_rate).name}.",
    ]


def write(output: Path, png: Path, p: Pipeline, rate: float, run: Run, ctx: Context) -> None:
    from bench.capacity import plot

    s, w = p.stack, p.work
    title = (f"{run.base_rate:,.0f} objects/s with {run.burst_rate:,.0f}/s for {run.burst_s} s: "
             "backlog and lag (s3flow capacity model)")  # fmt: skip
    plot.draw(run, png, title)
    first = model.binding(p, rate)
    reserved = (
        "" if s.processor_reserved_concurrency is None else f", {s.processor_reserved_concurrency} reserved"
    )
    lines = [
        "# Capacity: the limits on an object's path",
        "",
        f"Generated by `{ctx.command}` on {ctx.started:%Y-%m-%d %H:%M} UTC (commit {ctx.commit}). "
        "`python -m bench` (the full run) writes it with the work per object it has just measured; "
        "`python -m bench capacity --rate N` with the measured numbers below, for any rate "
        "(`--no-write` prints the tables only).",
        "",
        f"- The stack, read from `{ctx.template}`: processor {s.processor_memory_mb} MB"
        f"{reserved}, "
        f"async retries {s.async_retry_attempts} and events kept {s.async_max_event_age_s / 3600:g} h; "
        f"time index on {s.time_index_shards} `timeBucket` shards; publisher {s.publisher_memory_mb} MB, "
        "stream "
        f"batches of {s.batch_size}, parallelization factor {s.parallelization_factor}, batching window "
        f"{s.batching_window_s} s; {s.deliveries_per_event} rule delivery per event; DynamoDB "
        f"{'on-demand' if s.on_demand else 'provisioned'}; {s.architecture}.",
        f"- Work per object ({w.source}): processor CPU {w.processor_cpu_ms:.2f} ms and "
        f"{', '.join(f'{n:g} {k} call' for k, n in w.processor_calls.items())}, so "
        f"{p.processor_s * 1000:.1f} ms per object on Lambda (bench/cost.py: CPU scaled by the memory's "
        "share, "
        "an assumed round trip per call); publisher CPU "
        f"{w.publisher_cpu_ms_fixed:.2f} ms per invocation plus {w.publisher_cpu_ms_per_record:.2f} ms per "
        "record, "
        f"{p.publisher.invocation_ms(s.batch_size):,.0f} ms per full batch on Lambda; "
        f"{w.item_write_units:g} + {w.index_write_units:g} WRU per object; events of {w.event_bytes:,.0f} "
        "bytes.",
        f"- Quotas are the defaults of {REGION} (EventBridge's and CloudWatch Logs' differ by region); "
        "every one "
        "is listed with its page under *Quotas*.",
        "",
        "## Summary",
        "",
        f"- At {rate:,.0f} objects/s the first limit to bind is **{first.name}**, at "
        f"{objects(first.binds_at)} "
        f"objects/s; it is raised by {first.raised_by}"
        + (f" (stack settings: {first.setting})." if first.setting else "."),
    ]
    for r in REPORTED_RATES:
        f = model.binding(p, r)
        exceeded = [lim.name for lim in model.limits(p, r) if lim.binds_at < r]
        lines.append(
            f"- {r:,} objects/s: first to bind {f.name} ({objects(f.binds_at)} objects/s); "
            + (f"exceeded: {'; '.join(exceeded)}." if exceeded else "nothing exceeded.")
        )
    lines += ["", *_section(summary_table(p, tuple(sorted({rate, *REPORTED_RATES}))))]
    lines += [f"## Limits at {rate:,.0f} objects/s", "", *_section(limits_table(p, rate))]
    if rate != simulation.BURST_RATE:
        lines += [f"## Limits at the burst rate, {simulation.BURST_RATE:,.0f} objects/s", "",
                  *_section(limits_table(p, simulation.BURST_RATE))]  # fmt: skip
    lines += [
        "## The publisher's rate per shard",
        "",
        *_section(publisher_table(p)),
        "The publisher reads each shard one batch at a time (times the parallelization factor) and sends a "
        "batch's entries in PutEvents requests of 10, up to `contract.PUBLISHER_PUT_CONCURRENCY` in flight "
        f"({p.stack.put_concurrency} as deployed). One at a time, a full batch waits on ten round trips "
        "(at 20 ms each, about 500 objects/s per shard from latency alone); several in flight, on a few, and "
        "then the CPU per record, scaled by the memory's share of a vCPU, is most of an invocation: at "
        "256 MB more requests in flight add little, more memory adds most. `python -m bench shard` "
        "(docs/performance.md, section 3c) measures the handler on one shard with a full core; "
        "`--shard-rate` puts a measured rate into this model instead of the modelled one. "
        "A shard never receives more than one partition's writes (1,000 WRU/s), so once the shard rate times "
        "the parallelization factor passes that, the publisher no longer binds: the table's partition "
        "splits add shards as writes grow.",
        "",
        "## Cost per million objects",
        "",
        *_section(cost_table(p, tuple(sorted({rate, *REPORTED_RATES})))),
        "The floor is what no design avoids: the item's write and its time-index write, one event, and that "
        "event's line in the rule's log group. Above it: Lambda (the publisher's share falls as its batches "
        "fill with the rate) and the functions' own log lines. Cold-start INIT and X-Ray are left out here "
        "(docs/performance.md section 5 prices them).",
        "",
        "## A day with a burst",
        "",
        "![backlog and lag over the day](capacity-burst.png)",
        "",
        *burst_lines(run, p),
        *what_if_lines(run, p),
        "",
        "## Quotas",
        "",
        *_section(quotas_table()),
        "## What the model does not model",
        "",
        "- DynamoDB's partitions are modelled from throughput only: a new on-demand table's 4 partitions, "
        "and "
        "twice the previous peak after each 30 minutes; splits by size (10 GB a partition) add stream shards "
        "as the table grows and are left out, and so is adaptive capacity isolating a hot item.",
        "- Throttled writes are retried until they succeed; on AWS the processor's retries and Lambda's "
        "async retries can run out, and such objects go to the failure queue (`s3flow redrive`).",
        "- The publisher is not retried or bisected (no failures are modelled); Lambda's poller is taken to "
        "keep every shard busy while it has records; latency is counted in whole seconds of queueing, on "
        "top of each object's own (processor invocation, a poll interval of 250 ms or the batching window, "
        "the publisher's invocation).",
        "- CloudWatch Logs: each event the rule delivers is assumed to be one PutLogEvents request against "
        "the "
        "account's quota; the functions' own logs (sent by Lambda) are not counted against it.",
        "- The account is taken to be empty: other functions, publishers and log writers share the account "
        "quotas (concurrency, PutEvents, invocations, PutLogEvents).",
        "- S3 is taken to accept the uploads (one prefix: 3,500 PUT/s; more prefixes, more), and to notify "
        "without delay.",
        "",
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines))


def _section(table: Table) -> list[str]:
    return [f"_{table.title}_", "", table.markdown(), "", *(f"{note}\n" for note in table.notes)]


def limits_text(p: Pipeline, rate: float) -> str:
    """The terminal's version: the limits at this rate and the first to bind."""
    first = model.binding(p, rate)
    t = limits_table(p, rate)
    rows = [[r[0], r[1], r[2], r[4]] for r in t.rows]
    short = Table(t.title, ["limit", "binds at (objects/s)", f"at {rate:,.0f}/s", "setting"], rows)
    return (
        short.text()
        + f"\n\nfirst to bind at {rate:,.0f} objects/s: {first.name} at {objects(first.binds_at)} objects/s"
        + f"\n{summary_table(p, (rate,)).text()}"
    )
