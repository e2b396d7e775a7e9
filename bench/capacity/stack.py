"""The stack's settings that decide its capacity, read from the synthesized template.

Nothing here repeats a number the stack sets: memory, the async retry settings, the time
index's shard count (the processor's environment), the stream mapping's batch size,
parallelization factor and batching window, reserved concurrency and the rules that deliver
each event are all read from ``cdk.out`` (or any template given).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import paths
from s3flow import contract


@dataclass(frozen=True)
class StackSettings:
    processor_memory_mb: int
    publisher_memory_mb: int
    processor_reserved_concurrency: int | None
    async_max_event_age_s: int
    async_retry_attempts: int
    time_index_shards: int
    batch_size: int
    parallelization_factor: int
    batching_window_s: int
    deliveries_per_event: int  # log-group targets of the rule an event matches
    on_demand: bool
    architecture: str  # "arm64" or "x86_64", as bench.cost prices them
    put_concurrency: int  # PutEvents requests of one batch the publisher keeps in flight

    @classmethod
    def from_template(cls, template: dict[str, Any]) -> StackSettings:
        resources = template["Resources"]

        def of_type(kind: str) -> list[dict[str, Any]]:
            return [r.get("Properties", {}) for r in resources.values() if r["Type"] == kind]

        functions = {p.get("Handler"): p for p in of_type("AWS::Lambda::Function")}
        processor, publisher = functions[contract.HANDLER], functions[contract.PUBLISHER_HANDLER]
        (invoke_config,) = of_type("AWS::Lambda::EventInvokeConfig")
        (mapping,) = of_type("AWS::Lambda::EventSourceMapping")
        (table,) = of_type("AWS::DynamoDB::Table")
        shards = processor.get("Environment", {}).get("Variables", {}).get(contract.ENV_TIME_INDEX_SHARDS)
        success_rules = [
            p for p in of_type("AWS::Events::Rule")
            if contract.DETAIL_TYPE_SUCCESS in p.get("EventPattern", {}).get("detail-type", [])
        ]  # fmt: skip
        reserved = processor.get("ReservedConcurrentExecutions")
        return cls(
            processor_memory_mb=int(processor.get("MemorySize", 128)),
            publisher_memory_mb=int(publisher.get("MemorySize", 128)),
            processor_reserved_concurrency=None if reserved is None else int(reserved),
            async_max_event_age_s=int(invoke_config.get("MaximumEventAgeInSeconds", 6 * 3600)),
            async_retry_attempts=int(invoke_config.get("MaximumRetryAttempts", 2)),
            time_index_shards=int(shards) if shards else contract.DEFAULT_TIME_INDEX_SHARDS,
            batch_size=int(mapping.get("BatchSize", 100)),
            parallelization_factor=int(mapping.get("ParallelizationFactor", 1)),
            batching_window_s=int(mapping.get("MaximumBatchingWindowInSeconds", 0)),
            deliveries_per_event=sum(len(rule.get("Targets", [])) for rule in success_rules),
            on_demand=table.get("BillingMode") == "PAY_PER_REQUEST",
            architecture=(processor.get("Architectures") or ["x86_64"])[0],
            put_concurrency=int(
                publisher.get("Environment", {})
                .get("Variables", {})
                .get(contract.ENV_PUBLISHER_PUT_CONCURRENCY)
                or contract.PUBLISHER_PUT_CONCURRENCY
            ),
        )

    @classmethod
    def synthesized(cls, template_file: Path | None = None) -> StackSettings:
        """The stack in cdk.out (``make synth``), or the template file given."""
        return cls.from_template(json.loads((template_file or paths.processor_template()).read_text()))
