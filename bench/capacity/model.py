"""For a rate of objects per second: every limit on the path, the rate at which it binds, what
raises it, and what a million objects cost at that rate against the floor.

Pure: the stack's settings (``StackSettings``, from the template), the work per object
(``Work``, measured) and the publisher's per-shard rate (``Publisher``) go in; numbers come
out. The quotas are ``bench.capacity.quotas``'s; the prices ``bench.cost``'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench import cost
from bench.capacity.quotas import QUOTAS, REGION, value
from bench.capacity.stack import StackSettings
from bench.capacity.work import Publisher, Work, processor_ms

INF = float("inf")


@dataclass(frozen=True)
class Pipeline:
    """The stack, the work per object and how the publisher sends a batch's PutEvents.

    ``put_concurrency``: PutEvents requests of a batch in flight (None: the stack's);
    ``measured_shard_rate``: objects/s one batch-at-a-time reader of a shard publishes, when
    given (a measurement, e.g. ``python -m bench shard``), instead of the one modelled from the
    work per record and the round trips.
    """

    stack: StackSettings
    work: Work
    put_concurrency: int | None = None
    measured_shard_rate: float | None = None

    @property
    def processor_s(self) -> float:
        return processor_ms(self.work, self.stack.processor_memory_mb) / 1000

    @property
    def publisher(self) -> Publisher:
        return Publisher(
            self.work, self.stack.publisher_memory_mb, self.put_concurrency or self.stack.put_concurrency
        )

    @property
    def shard_rate(self) -> float:
        """Objects/s one busy shard's publisher invocations publish, all batches of it together."""
        one = self.measured_shard_rate or self.publisher.shard_rate(self.stack.batch_size)
        return one * self.stack.parallelization_factor

    @property
    def partition_objects(self) -> float:
        """Objects/s one table partition (one stream shard) takes: 1,000 WRU / WRU per item."""
        return value("dynamodb_partition_wcu") / self.work.item_write_units

    @property
    def initial_shards(self) -> int:
        """Partitions, and so stream shards, of a new on-demand table (its initial 4,000 WRU)."""
        return math.ceil(value("dynamodb_on_demand_initial_wru") / value("dynamodb_partition_wcu"))

    def shards(self, rate: float) -> int:
        """Stream shards at a sustained rate: the table's partitions, split as writes need."""
        return max(self.initial_shards, math.ceil(rate / self.partition_objects))

    def records_per_batch(self, rate: float) -> float:
        """Records per publisher invocation: what a shard gathers between polls (or in the
        batching window), full batches once the publisher cannot keep up."""
        shards = self.shards(rate)
        per_shard = rate / shards
        if per_shard >= self.shard_rate:
            return float(self.stack.batch_size)
        gather = max(1 / value("lambda_stream_polls_per_second"), self.stack.batching_window_s)
        per_batch = per_shard * gather / self.stack.parallelization_factor
        return min(float(self.stack.batch_size), max(1.0, per_batch))

    def publisher_binds_at(self) -> float:
        """The publisher falls behind when one shard's writes outrun its shard rate; a shard never
        gets more than one partition's writes, so past that the table's splits keep up."""
        if self.shard_rate >= self.partition_objects:
            return INF
        return self.initial_shards * self.shard_rate


@dataclass(frozen=True)
class Limit:
    name: str
    quota_keys: tuple[str, ...]
    binds_at: float  # objects/s; inf: never, for this stack
    at_rate: str  # what the asked rate uses of it
    raised_by: str
    setting: str | None = None  # our context key, when the stack's own setting raises it

    def urls(self) -> list[str]:
        return sorted({QUOTAS[key].url for key in self.quota_keys})


def limits(p: Pipeline, rate: float) -> list[Limit]:
    s, w = p.stack, p.work
    proc_s = p.processor_s
    publisher_concurrency = p.shards(rate) * s.parallelization_factor
    account = value("lambda_concurrency")
    entries = min(value("eventbridge_entries_per_put"), p.records_per_batch(rate))
    index_wcu = s.time_index_shards * value("dynamodb_partition_wcu")
    how = (
        "the measured rate"
        if p.measured_shard_rate
        else f"{p.publisher.invocation_ms(s.batch_size):,.0f} ms each with "
        f"{p.publisher.concurrent_chunks} PutEvents in flight"
    )
    found = [
        Limit(
            "S3 PUTs per prefix",
            ("s3_put_per_prefix",),
            value("s3_put_per_prefix"),
            f"{rate:,.0f} PUT/s if every key shares one prefix",
            "the uploader spreads keys over prefixes (S3 partitions a busy prefix in minutes); not the "
            "stack's",
        ),
        Limit(
            "S3 notifications to the processor (async invoke queue)",
            ("lambda_async_aws_sources", "lambda_async_max_event_age"),
            INF,
            "events queue when the processor is behind; the oldest waits at most "
            f"{s.async_max_event_age_s / 3600:g} h, "
            f"then goes to the failure queue after {s.async_retry_attempts} retries",
            "no rate quota for AWS sources; the queue drains at the processor's rate",
        ),
        Limit(
            "Lambda concurrency, account",
            ("lambda_concurrency",),
            max(0.0, account - publisher_concurrency) / proc_s,
            f"processor {rate * proc_s:,.1f} + publisher {publisher_concurrency} of {account:,.0f} "
            "executions "
            f"(processor {proc_s * 1000:.1f} ms per object)",
            "a quota increase (adjustable, to tens of thousands); shared with every function of the account",
        ),
        Limit(
            "Lambda reserved concurrency, processor",
            ("lambda_concurrency", "lambda_unreserved_minimum"),
            INF if s.processor_reserved_concurrency is None else s.processor_reserved_concurrency / proc_s,
            "not set: the processor draws on the account's unreserved pool"
            if s.processor_reserved_concurrency is None
            else f"{rate * proc_s:,.1f} of {s.processor_reserved_concurrency:,} reserved",
            "a larger reservation (the account keeps 100 unreserved)",
            "processorReservedConcurrency",
        ),
        Limit(
            "Lambda scaling rate, processor",
            ("lambda_scaling_rate",),
            value("lambda_scaling_rate") * 10 / proc_s,
            f"from idle, {rate * proc_s:,.0f} environments: {_ramp_s(rate * proc_s):,.0f} s of ramp"
            if rate * proc_s > value("lambda_scaling_rate") * 10
            else "a step from idle to this rate is served at once",
            "not adjustable; provisioned concurrency keeps environments ready",
        ),
        Limit(
            "DynamoDB time index partitions (timeBucket shards)",
            ("dynamodb_partition_wcu",),
            index_wcu / w.index_write_units,
            f"{rate * w.index_write_units:,.0f} of {index_wcu:,.0f} WCU/s on {s.time_index_shards} index "
            "partitions; "
            "a throttled index throttles the table writes that feed it",
            "`timeIndexShards` (up to 64; raise only: readers use the largest count ever set)",
        ),
        Limit(
            "DynamoDB on-demand: new table / twice the previous peak",
            ("dynamodb_on_demand_initial_wru",),
            value("dynamodb_on_demand_initial_wru") / w.item_write_units,
            f"{rate * w.item_write_units:,.0f} WRU/s on the table; past twice its previous peak a table "
            "throttles while it splits (about 30 minutes per doubling)",
            "grow traffic gradually, or pre-warm the table (warm throughput; not a stack setting)",
        ),
        Limit(
            "DynamoDB on-demand table throughput",
            ("dynamodb_on_demand_table_wru",),
            value("dynamodb_on_demand_table_wru") / w.item_write_units,
            f"{rate * w.item_write_units:,.0f} of {value('dynamodb_on_demand_table_wru'):,.0f} WRU/s",
            "a quota increase (adjustable)",
        ),
        Limit(
            "Stream shards x publisher rate per shard",
            ("lambda_stream_parallelization", "lambda_stream_polls_per_second", "dynamodb_partition_wcu"),
            p.publisher_binds_at(),
            f"{p.shards(rate)} shards x {p.shard_rate:,.0f} objects/s per shard "
            f"(batches of {s.batch_size}, {s.parallelization_factor} at once, {how}); "
            f"{p.records_per_batch(rate):,.1f} records per invocation at this rate",
            "parallelization factor (x up to 10); more publisher memory (at 256 MB its CPU per record is "
            "most of an invocation); more PutEvents in flight (the publisher's PUBLISHER_PUT_CONCURRENCY, up "
            "to 10); larger batches (a little: only the per-invocation CPU is shared)",
            "publisherParallelizationFactor, publisherBatchSize, publisherMemoryMb",
        ),
        Limit(
            "DynamoDB Streams readers per shard",
            ("dynamodb_stream_readers_per_shard",),
            INF,
            f"1 of {value('dynamodb_stream_readers_per_shard'):.0f} (the publisher's mapping); "
            "a second consumer of the stream takes the other",
            "not adjustable; more consumers need a fan-out (EventBridge Pipes or Kinesis Data Streams)",
        ),
        Limit(
            f"EventBridge PutEvents requests ({REGION})",
            ("eventbridge_put_events_tps", "eventbridge_entries_per_put"),
            value("eventbridge_put_events_tps") * value("eventbridge_entries_per_put"),
            f"{rate / entries:,.0f} of {value('eventbridge_put_events_tps'):,.0f} requests/s "
            f"({entries:,.1f} entries per request at this rate; 10 in full batches)",
            "a quota increase (adjustable; per region, shared by the account's other publishers)",
        ),
        Limit(
            f"EventBridge rule target invocations ({REGION})",
            ("eventbridge_invocations_tps",),
            value("eventbridge_invocations_tps") / max(s.deliveries_per_event, 1),
            f"{rate * s.deliveries_per_event:,.0f} of {value('eventbridge_invocations_tps'):,.0f} "
            "invocations/s; "
            "throttled deliveries are delayed and retried, not lost",
            "a quota increase (adjustable)",
        ),
        Limit(
            f"CloudWatch Logs PutLogEvents for the rule target ({REGION})",
            ("logs_put_log_events_tps",),
            value("logs_put_log_events_tps") / max(s.deliveries_per_event, 1),
            f"{rate * s.deliveries_per_event:,.0f} of {value('logs_put_log_events_tps'):,.0f} requests/s, "
            "assuming one request per delivered event; a throttled delivery is retried for 2 h, then "
            "dead-lettered",
            "a quota increase (adjustable), or a rule target that takes batches (Firehose)",
        ),
        Limit(
            "SQS failure queues",
            ("sqs_standard_tps",),
            INF,
            "used only by failures",
            "nearly unlimited throughput for standard queues",
        ),
    ]
    return found


def binding(p: Pipeline, rate: float) -> Limit:
    """The limit that binds first: the lowest finite binding rate."""
    return min(limits(p, rate), key=lambda limit: limit.binds_at)


def _ramp_s(environments: float) -> float:
    return max(0.0, (environments - value("lambda_scaling_rate") * 10) / value("lambda_scaling_rate"))


@dataclass(frozen=True)
class CostAtRate:
    rate: float
    records_per_batch: float
    lines: dict[str, float]  # dollars per million objects
    floor: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.lines.values())

    @property
    def floor_total(self) -> float:
        return sum(self.floor.values())


def cost_at(p: Pipeline, rate: float) -> CostAtRate:
    """Dollars per million objects at this rate, with bench.cost's prices and assumptions.

    The floor is what no design can avoid: the item write and its index write, one event, and
    that event's line in the rule's log group."""
    s, w, prices = p.stack, p.work, cost.PRICES
    million = 1e6
    b = p.records_per_batch(rate)
    gb_s = lambda memory: memory / 1024 * prices[f"lambda_gb_s_{s.architecture}"]  # noqa: E731
    processor_billed = math.ceil(p.processor_s * 1000) / 1000 * gb_s(s.processor_memory_mb)
    publisher_billed = math.ceil(p.publisher.invocation_ms(b)) / 1000 * gb_s(s.publisher_memory_mb) / b
    routed = (w.event_bytes + cost.RULE_ENVELOPE_BYTES) * s.deliveries_per_event
    function_logs = (
        w.processor_log_bytes
        + cost.PLATFORM_LOG_BYTES
        + (w.publisher_log_bytes + cost.PLATFORM_LOG_BYTES) / b
    )
    write_units = w.item_write_units + w.index_write_units
    gb = 1024**3
    lines = {
        "Lambda requests": million * (1 + 1 / b) * prices["lambda_request"],
        "Lambda duration": million * (processor_billed + publisher_billed),
        "DynamoDB writes": million * write_units * prices["dynamodb_wru"],
        "EventBridge events": million * prices["eventbridge_event"],
        "CloudWatch Logs: functions": million * function_logs / gb * prices["logs_gb"],
        "CloudWatch Logs: routed events": million * routed / gb * prices["logs_gb"],
    }
    floor = {
        "DynamoDB writes": lines["DynamoDB writes"],
        "EventBridge events": lines["EventBridge events"],
        "CloudWatch Logs: routed events": lines["CloudWatch Logs: routed events"],
    }
    return CostAtRate(rate, b, lines, floor)
