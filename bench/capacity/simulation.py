"""A day at a base rate with a burst, in one-second steps: the queues on the path and the lag.

Each second, objects arrive (S3 notifications, accepted whatever the rate), wait in the
processor's async queue, are written when the processor has environments (scaling by 1,000
every 10 s, capped by the account and any reservation) and DynamoDB has capacity (the time
index's partitions; the table's twice-the-previous-peak, its partitions doubling each 30
minutes); a throttled write stays queued and is retried. Written records wait on the stream
until the publisher's shards take them (the table's partitions, each at the publisher's
rate per shard; PutEvents' quota), then their events wait for the rule's delivery to the log
group (EventBridge invocations and CloudWatch Logs' PutLogEvents quotas). Queues are FIFO, so
an object's lag is read from the cumulative counts: the object written at second t arrived at
the second the arrivals' count first reached the writes' count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench.capacity.model import Pipeline
from bench.capacity.quotas import value

DAY_S = 86_400
BURST_RATE = 10_000.0
BURST_S = 60
BURST_START_S = 12 * 3600
SPLIT_S = 30 * 60  # DynamoDB on-demand: up to twice the previous peak, a doubling per ~30 minutes


@dataclass
class Run:
    base_rate: float
    burst_rate: float
    burst_start: int
    burst_s: int
    async_queue: list[float] = field(default_factory=list)
    stream_backlog: list[float] = field(default_factory=list)
    delivery_backlog: list[float] = field(default_factory=list)
    record_lag: list[float] = field(default_factory=list)  # s, upload to record (queueing only)
    event_lag: list[float] = field(default_factory=list)  # s, upload to event on the bus
    delivery_lag: list[float] = field(default_factory=list)  # s, upload to the log group
    iterator_age: list[float] = field(default_factory=list)  # s, the stream's oldest unpublished record
    written: list[float] = field(default_factory=list)  # objects/s
    published: list[float] = field(default_factory=list)

    @property
    def burst_end(self) -> int:
        return self.burst_start + self.burst_s

    def drained_at(self, tolerance: float = 1.0) -> int | None:
        """The first second after the burst when every queue is back to its base level."""
        for t in range(self.burst_end, len(self.async_queue)):
            if (
                max(self.async_queue[t], self.stream_backlog[t], self.delivery_backlog[t])
                <= tolerance + self.base_rate
            ):
                return t
        return None

    def peak_backlog(self) -> float:
        return max(
            a + s + d
            for a, s, d in zip(self.async_queue, self.stream_backlog, self.delivery_backlog, strict=True)
        )


def simulate(
    p: Pipeline,
    base_rate: float,
    *,
    burst_rate: float = BURST_RATE,
    burst_s: int = BURST_S,
    burst_start: int = BURST_START_S,
    seconds: int = DAY_S,
) -> Run:
    s, w = p.stack, p.work
    proc_s = p.processor_s
    account = value("lambda_concurrency")
    reserved = s.processor_reserved_concurrency or math.inf
    scale_step = value("lambda_scaling_rate")
    index_objects = s.time_index_shards * value("dynamodb_partition_wcu") / w.index_write_units
    table_quota = value("dynamodb_on_demand_table_wru")
    initial = value("dynamodb_on_demand_initial_wru")
    put_events = value("eventbridge_put_events_tps") * value("eventbridge_entries_per_put")
    deliver_cap = min(value("eventbridge_invocations_tps"), value("logs_put_log_events_tps"))
    deliveries = max(s.deliveries_per_event, 1)

    run = Run(base_rate, burst_rate, burst_start, burst_s)
    envs = 0.0
    queue = stream = pending = 0.0
    arrived_total = written_total = published_total = delivered_total = 0.0
    arrived_cum: list[float] = []
    written_cum: list[float] = []
    peaks: list[float] = []  # highest WRU/s served up to each second
    peak = 0.0
    i_rec = i_evt = i_del = i_iter = 0
    for t in range(seconds):
        arrivals = base_rate + (burst_rate if burst_start <= t < burst_start + burst_s else 0.0)
        arrived_total += arrivals
        arrived_cum.append(arrived_total)
        previous_peak = peaks[t - SPLIT_S] if t >= SPLIT_S else 0.0
        table_wru = min(table_quota, max(initial, 2 * previous_peak))
        shards = max(p.initial_shards, math.ceil(table_wru / value("dynamodb_partition_wcu")))
        publisher_concurrency = shards * s.parallelization_factor
        cap = min(account - publisher_concurrency, reserved)
        want = min(cap, (queue + arrivals) * proc_s)
        envs = want if want <= envs else min(want, envs + scale_step)
        write_cap = min(index_objects, table_wru / w.item_write_units)
        done = min(queue + arrivals, envs / proc_s, write_cap)
        queue += arrivals - done
        peak = max(peak, done * w.item_write_units)
        peaks.append(peak)
        written_total += done
        written_cum.append(written_total)
        stream += done
        out = min(stream, shards * p.shard_rate, put_events)
        stream -= out
        published_total += out
        pending += out * deliveries
        delivered = min(pending, deliver_cap)
        pending -= delivered
        delivered_total += delivered / deliveries

        i_rec = _first_at_least(arrived_cum, written_total, i_rec)
        i_evt = _first_at_least(arrived_cum, published_total, i_evt)
        i_del = _first_at_least(arrived_cum, delivered_total, i_del)
        i_iter = _first_at_least(written_cum, published_total, i_iter)
        run.async_queue.append(queue)
        run.stream_backlog.append(stream)
        run.delivery_backlog.append(pending / deliveries)
        run.record_lag.append(float(t - i_rec))
        run.event_lag.append(float(t - i_evt))
        run.delivery_lag.append(float(t - i_del))
        run.iterator_age.append(float(t - i_iter))
        run.written.append(done)
        run.published.append(out)
    return run


def _first_at_least(cumulative: list[float], target: float, start: int) -> int:
    """The first second whose cumulative count reaches ``target`` (to a thousandth of an object)."""
    i = start
    while i < len(cumulative) - 1 and cumulative[i] < target - 1e-3:
        i += 1
    return i
