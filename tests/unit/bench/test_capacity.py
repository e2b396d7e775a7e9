"""The capacity model (bench/capacity): pure arithmetic on the stack's settings, the measured
work per object and the quota table, so every test here is fast and touches no network.

The stack is read from the committed default-template snapshot, the template every default
synthesis must equal (tests/unit/infra/test_default_template.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from bench.capacity import document, model, simulation
from bench.capacity.model import Pipeline
from bench.capacity.quotas import QUOTAS
from bench.capacity.stack import StackSettings
from bench.capacity.work import MEASURED, Publisher
from bench.document import now

from s3flow import contract

SNAPSHOT = Path(__file__).resolve().parents[1] / "infra" / "default_template.json"


@pytest.fixture(scope="module")
def stack() -> StackSettings:
    return StackSettings.from_template(json.loads(SNAPSHOT.read_text()))


@pytest.fixture(scope="module")
def pipeline(stack: StackSettings) -> Pipeline:
    return Pipeline(stack, MEASURED)


def _limit(p: Pipeline, name: str, rate: float = 100) -> model.Limit:
    (found,) = (limit for limit in model.limits(p, rate) if limit.name.startswith(name))
    return found


def test_the_stack_is_read_from_the_template_not_repeated(stack: StackSettings) -> None:
    assert (stack.processor_memory_mb, stack.publisher_memory_mb) == (256, 256)
    assert stack.time_index_shards == 4 and stack.batch_size == 100 and stack.parallelization_factor == 1
    assert stack.processor_reserved_concurrency is None and stack.batching_window_s == 0
    assert (stack.async_retry_attempts, stack.async_max_event_age_s) == (2, 6 * 3600)
    assert stack.deliveries_per_event == 1 and stack.on_demand and stack.architecture == "arm64"
    # Not in the template: the publisher's own default.
    assert stack.put_concurrency == contract.PUBLISHER_PUT_CONCURRENCY


def test_a_template_with_the_capacity_settings_is_read_as_set() -> None:
    template = json.loads(SNAPSHOT.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            resource["Properties"] |= {"ParallelizationFactor": 4, "BatchSize": 500}
        if resource["Type"] == "AWS::Lambda::Function" and "TIME_INDEX_SHARDS" in str(resource):
            resource["Properties"]["ReservedConcurrentExecutions"] = 50
        if resource["Type"] == "AWS::Lambda::Function" and "EVENT_BUS_NAME" in str(resource):
            resource["Properties"]["Environment"]["Variables"][contract.ENV_PUBLISHER_PUT_CONCURRENCY] = "2"
    stack = StackSettings.from_template(template)
    assert (stack.parallelization_factor, stack.batch_size) == (4, 500)
    assert (stack.processor_reserved_concurrency, stack.put_concurrency) == (50, 2)


def test_every_quota_cites_its_aws_documentation_page() -> None:
    for quota in QUOTAS.values():
        assert quota.url.startswith("https://docs.aws.amazon.com/"), quota.key
    cited = {url for limit in model.limits(Pipeline(StackSettings.synthesized(SNAPSHOT), MEASURED), 100)
             for url in limit.urls()}  # fmt: skip
    assert cited <= {q.url for q in QUOTAS.values()}


def test_the_default_stack_is_first_bound_by_its_publisher_at_four_shards_times_the_shard_rate(
    pipeline: Pipeline,
) -> None:
    first = model.binding(pipeline, 100)
    assert first.name.startswith("Stream shards")
    expected = 4 * 100 / (pipeline.publisher.invocation_ms(100) / 1000)
    assert first.binds_at == pytest.approx(expected)
    # Above one PutEvents at a time (ten round trips per batch), below a partition's 1,000
    # objects/s a shard: at 256 MB the CPU per record is most of an invocation.
    one_at_a_time = replace(pipeline, put_concurrency=1)
    assert 4 * one_at_a_time.shard_rate < first.binds_at < 4 * 1000


def test_the_time_index_binds_at_its_shards_times_a_partitions_writes(pipeline: Pipeline) -> None:
    assert _limit(pipeline, "DynamoDB time index").binds_at == 4 * 1000
    eight = replace(pipeline, stack=replace(pipeline.stack, time_index_shards=8))
    assert _limit(eight, "DynamoDB time index").binds_at == 8 * 1000


def test_the_parallelization_factor_raises_the_publishers_binding_rate(pipeline: Pipeline) -> None:
    one_at_a_time = replace(pipeline, put_concurrency=1)  # ~350 objects/s a shard
    two = replace(one_at_a_time, stack=replace(pipeline.stack, parallelization_factor=2))
    before, after = _limit(one_at_a_time, "Stream shards").binds_at, _limit(two, "Stream shards").binds_at
    assert after == pytest.approx(2 * before)
    # Past one partition's writes per shard the table's splits keep up: the publisher no longer binds.
    ten = replace(pipeline, stack=replace(pipeline.stack, parallelization_factor=10))
    assert math.isinf(_limit(ten, "Stream shards").binds_at)
    assert model.binding(ten, 100).name.startswith("S3 PUTs per prefix")


def test_more_puts_in_flight_and_more_memory_raise_the_shard_rate(pipeline: Pipeline) -> None:
    one, ten = replace(pipeline, put_concurrency=1), replace(pipeline, put_concurrency=10)
    assert one.shard_rate < pipeline.shard_rate < ten.shard_rate
    assert Publisher(MEASURED, 256, 10).invocation_ms(100) < Publisher(MEASURED, 256, 1).invocation_ms(100)
    assert Publisher(MEASURED, 1769, 5).invocation_ms(100) < Publisher(MEASURED, 256, 5).invocation_ms(100)


def test_a_measured_shard_rate_replaces_the_modelled_one(pipeline: Pipeline) -> None:
    measured = replace(pipeline, measured_shard_rate=2000.0)
    assert measured.shard_rate == 2000.0
    # 2,000 a shard is past a partition's writes: the publisher no longer binds.
    assert math.isinf(_limit(measured, "Stream shards").binds_at)


def test_a_reservation_caps_the_processor_at_reserved_over_its_duration(pipeline: Pipeline) -> None:
    assert math.isinf(_limit(pipeline, "Lambda reserved").binds_at)
    reserved = replace(pipeline, stack=replace(pipeline.stack, processor_reserved_concurrency=10))
    limit = _limit(reserved, "Lambda reserved")
    assert limit.binds_at == pytest.approx(10 / pipeline.processor_s)
    assert limit.setting == "processorReservedConcurrency"
    assert model.binding(reserved, 100) == limit


def test_the_publishers_batches_fill_with_the_rate(pipeline: Pipeline) -> None:
    assert pipeline.records_per_batch(1) == 1
    assert pipeline.records_per_batch(100) == pytest.approx(100 / 4 / 4)  # 4 shards polled 4 times a second
    assert pipeline.records_per_batch(10_000) == 100


def test_the_cost_is_above_the_floor_and_falls_toward_it_as_batches_fill(pipeline: Pipeline) -> None:
    quiet, busy = model.cost_at(pipeline, 1), model.cost_at(pipeline, 10_000)
    assert busy.floor_total < busy.total < quiet.total
    assert quiet.floor_total == busy.floor_total
    # The floor: two write units, one event and its log line, at bench.cost's prices.
    assert busy.floor["DynamoDB writes"] == pytest.approx(1.25)
    assert busy.floor["EventBridge events"] == pytest.approx(1.00)


def test_the_burst_drains_at_the_binding_rate_less_the_base_rate(pipeline: Pipeline) -> None:
    base = 100.0
    run = simulation.simulate(pipeline, base, burst_start=600, seconds=3600)
    drained = run.drained_at()
    assert drained is not None
    # After the burst only the publisher is behind: the backlog left falls by (binding - base) a second.
    left = run.async_queue[run.burst_end] + run.stream_backlog[run.burst_end]
    expected = left / (model.binding(pipeline, base).binds_at - base)
    assert drained - run.burst_end == pytest.approx(expected, rel=0.02, abs=2)
    assert max(run.event_lag) > max(run.record_lag) > 0
    assert run.async_queue[-1] == run.stream_backlog[-1] == 0


def test_without_a_burst_nothing_queues(pipeline: Pipeline) -> None:
    run = simulation.simulate(pipeline, 1000, burst_rate=0, seconds=600)
    assert max(run.async_queue) == max(run.stream_backlog) == 0
    assert max(run.event_lag) == 0


def test_the_document_names_the_first_limit_and_cites_every_quota(pipeline: Pipeline, tmp_path: Path) -> None:
    run = simulation.simulate(pipeline, 100, burst_start=600, seconds=3600)
    ctx = document.Context("python -m bench capacity --rate 100", now(), "abc1234", "cdk.out/x.json")
    output = tmp_path / "capacity.md"
    document.write(output, tmp_path / "capacity-burst.png", pipeline, 100, run, ctx)
    text = output.read_text()
    assert "Generated by `python -m bench capacity --rate 100`" in text and "commit abc1234" in text
    assert "first limit to bind is **Stream shards x publisher rate per shard**" in text
    for quota in QUOTAS.values():
        assert quota.url in text
    png = (tmp_path / "capacity-burst.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) < 150_000


def _block(objects: int, invocations: int, cpu_ms: float, **billed: float) -> dict[str, object]:
    calls = (
        {"dynamodb:PutItem": objects}
        if not billed.get("event_entries")
        else {"events:PutEvents": invocations}
    )
    return {
        "objects": objects,
        "invocations": invocations,
        "cpu_ms": cpu_ms,
        "log_bytes": 400.0 * invocations,
        "calls": calls,
        "billed": {k: v * objects for k, v in billed.items()},
        "error_count": 0,
    }


def test_the_work_measured_in_a_full_run_splits_the_publishers_cpu_per_invocation_and_per_record() -> None:
    from bench.capacity.work import Work
    from bench.warm import SizeResult

    processor = SizeResult(1, [_block(100, 100, 90.0, write_units=1.0, index_write_units=1.0)])
    one = SizeResult(1, [_block(100, 100, 100 * (0.5 + 0.2), event_entries=1.0, event_bytes=700.0)])
    full = SizeResult(1, [_block(100, 1, 0.5 + 100 * 0.2, event_entries=1.0, event_bytes=700.0)])
    work = Work.from_warm(processor, one, full, "test")
    assert work.publisher_cpu_ms_fixed == pytest.approx(0.5)
    assert work.publisher_cpu_ms_per_record == pytest.approx(0.2)
    assert work.processor_cpu_ms == pytest.approx(0.9) and work.processor_calls == {"dynamodb": 1.0}
    assert (work.item_write_units, work.index_write_units, work.event_bytes) == (1.0, 1.0, 700.0)
    assert work.publisher_log_bytes == pytest.approx(400.0)
