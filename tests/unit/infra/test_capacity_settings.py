"""The settings that raise the pipeline's capacity limits (docs/capacity.md): the processor's
reserved concurrency, the publisher mapping's batch size and parallelization factor.

Each is absent from the default template (the session template, which
test_default_template compares with the snapshot), set by its construct prop or by the
stack's settings (``-c`` context), and refused at synth, naming its context key, outside
what Lambda accepts. The constructs alone get inline code, so no asset is bundled for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from s3flow import contract
from s3flow.infra.app import create_app
from s3flow.infra.errors import SettingError
from s3flow.infra.settings import CAPACITY_CONTEXT_KEYS, PipelineSettings
from support.units import processing_alone, publishing_alone, stream_mapping

REPO_ROOT = Path(__file__).resolve().parents[3]


def _processor(template: Template) -> dict[str, Any]:
    (function,) = (
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == contract.HANDLER
    )
    return dict(function["Properties"])


def test_the_default_template_reserves_no_concurrency_and_reads_batches_of_100_one_at_a_time(
    template: Template,
) -> None:
    mapping = stream_mapping(template)
    assert mapping["BatchSize"] == contract.PUBLISHER_BATCH_SIZE == 100
    assert "ParallelizationFactor" not in mapping
    assert "ReservedConcurrentExecutions" not in _processor(template)


def test_the_defaults_are_lambdas_own() -> None:
    settings = PipelineSettings()
    assert settings.processor_reserved_concurrency is None
    assert (settings.publisher_batch_size, settings.publisher_parallelization_factor) == (100, 1)


def test_the_publishing_props_set_thestream_mapping() -> None:
    mapping = stream_mapping(publishing_alone(batch_size=1000, parallelization_factor=10))
    assert (mapping["BatchSize"], mapping["ParallelizationFactor"]) == (1000, 10)


def test_a_parallelization_factor_of_one_leaves_the_property_out() -> None:
    assert "ParallelizationFactor" not in stream_mapping(publishing_alone(parallelization_factor=1))


def test_the_processing_prop_reserves_concurrency() -> None:
    assert _processor_of(processing_alone(reserved_concurrency=50))["ReservedConcurrentExecutions"] == 50


def _processor_of(template: Template) -> dict[str, Any]:
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    return dict(function["Properties"])


def test_the_context_sets_all_three_on_the_stack(tmp_path_factory: pytest.TempPathFactory) -> None:
    app, stack = create_app(
        outdir=str(tmp_path_factory.mktemp("cdk.out")),
        context={
            "environmentSuffix": "capacity",
            "processorReservedConcurrency": "200",
            "publisherBatchSize": "500",
            "publisherParallelizationFactor": "4",
            "timeIndexShards": "16",
        },
    )
    app.synth()
    template = Template.from_stack(stack)
    mapping = stream_mapping(template)
    assert (mapping["BatchSize"], mapping["ParallelizationFactor"]) == (500, 4)
    assert _processor(template)["ReservedConcurrentExecutions"] == 200
    # The processor writes, and `s3flow records` reads, that many shards of each time bucket.
    assert _processor(template)["Environment"]["Variables"][contract.ENV_TIME_INDEX_SHARDS] == "16"


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        (
            "publisherBatchSize",
            "0",
            "publisherBatchSize (publisher_batch_size) must be a whole number of records from 1 to 10000",
        ),
        ("publisherBatchSize", "10001", "from 1 to 10000, got 10001"),
        (
            "publisherParallelizationFactor",
            "11",
            "publisherParallelizationFactor (publisher_parallelization_factor)",
        ),
        ("publisherParallelizationFactor", "0", "from 1 to 10, got 0"),
        (
            "processorReservedConcurrency",
            "0",
            "processorReservedConcurrency (processor_reserved_concurrency)",
        ),
        ("processorReservedConcurrency", "many", "got 'many'"),
        ("timeIndexShards", "0", "timeIndexShards (time_index_shards) must be a whole number of shards"),
        ("timeIndexShards", "65", "from 1 to 64, got 65"),
    ],
)
def test_a_value_lambda_would_refuse_fails_naming_the_setting(key: str, value: str, words: str) -> None:
    with pytest.raises(SettingError, match=words.replace("(", r"\(").replace(")", r"\)")):
        PipelineSettings.from_context({key: value})


@pytest.mark.parametrize(
    "prop",
    [
        "publisher_batch_size",
        "publisher_parallelization_factor",
        "processor_reserved_concurrency",
        "time_index_shards",
    ],
)
def test_a_flag_is_not_a_number(prop: str) -> None:
    with pytest.raises(SettingError, match=prop):
        PipelineSettings(**{prop: True})


def test_the_context_keys_are_documented_in_the_operations_guide() -> None:
    assert CAPACITY_CONTEXT_KEYS == (
        "processorReservedConcurrency",
        "publisherBatchSize",
        "publisherParallelizationFactor",
        "timeIndexShards",
    )
    operations = (REPO_ROOT / "docs" / "operations.md").read_text()
    for key in CAPACITY_CONTEXT_KEYS:
        assert f"`{key}`" in operations, key


def test_a_miscased_key_is_refused_not_ignored() -> None:
    with pytest.raises(SettingError, match="did you mean 'publisherBatchSize'"):
        PipelineSettings.from_context({"publisherbatchsize": "500"})
