"""The EMF document: one per invocation on stdout, valid per the specification, values that add up."""

from __future__ import annotations

import logging
import time

import pytest

from s3flow import contract
from s3flow.functions.shared.errors import ConfigurationError, RetryableProcessingError
from s3flow.functions.shared.observability import logs
from support.functions import PROCESSOR_METRICS, FakeContext, emf_problems, load_event, stdout_documents

from ..support import refuse_calls

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"


def one_document(capsys) -> dict:
    _, documents = stdout_documents(capsys.readouterr().out)
    assert len(documents) == 1
    return documents[0]


def values(document: dict) -> dict[str, float]:
    return {name: document[name] for name in PROCESSOR_METRICS}


def test_one_valid_emf_document_per_invocation(aws, invoke, capsys, monkeypatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    before = int(time.time() * 1000)

    invoke("s3_put_five")

    document = one_document(capsys)
    assert emf_problems(document) == []
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == contract.METRICS_NAMESPACE == "S3Flow"
    assert directive["Dimensions"] == [[contract.METRICS_DIMENSION_ENVIRONMENT]]
    assert {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]} == {
        "ObjectsProcessed": "Count",
        "ProcessingErrors": "Count",
        "DuplicatesSkipped": "Count",
        "BytesProcessed": "Bytes",
        "ProcessingLatency": "Milliseconds",
    }
    assert contract.METRIC_EVENTS_PUBLISHED not in document
    assert document["Environment"] == "test"
    assert document["_aws"]["Timestamp"] >= before
    assert document["requestId"] == FakeContext().aws_request_id
    assert document["traceId"] == "1-5759e988-bd862e3fe1be46a994272793"


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "CRITICAL"])
def test_the_document_is_written_whatever_the_log_level(aws, invoke, capsys, monkeypatch, level) -> None:
    logger = logging.getLogger(logs.ROOT_LOGGER)
    previous = logger.level
    monkeypatch.setenv(logs.LEVEL_ENV, level)
    logs.configure()
    try:
        invoke("s3_put_five")
    finally:
        logger.setLevel(previous)

    document = one_document(capsys)
    assert emf_problems(document) == []
    assert document[contract.METRIC_OBJECTS_PROCESSED] == 5


def test_values_count_what_the_invocation_did(aws, invoke, capsys) -> None:
    invoke("s3_put_five")
    first = values(one_document(capsys))
    invoke("s3_put_five")
    again = values(one_document(capsys))

    sizes = sum(r["s3"]["object"]["size"] for r in load_event("s3_put_five")["Records"])
    assert first == {**first, "ObjectsProcessed": 5, "BytesProcessed": sizes}
    assert first == {**first, "ProcessingErrors": 0, "DuplicatesSkipped": 0}
    assert first["ProcessingLatency"] > 0
    assert again == {**again, "ObjectsProcessed": 0, "BytesProcessed": 0}
    assert again["DuplicatesSkipped"] == 5


def test_bad_records_count_as_errors(aws, invoke, capsys) -> None:
    invoke("s3_mixed_valid_invalid_other")

    document = one_document(capsys)
    assert values(document) == {
        **values(document),
        "ObjectsProcessed": 2,
        "ProcessingErrors": 1,
        "BytesProcessed": 2048,
    }


def test_the_document_is_written_when_the_handler_raises_for_a_retry(
    aws, invoke, capsys, monkeypatch
) -> None:
    from s3flow.functions.processor.dependencies import dependencies

    refuse_calls(
        monkeypatch,
        dependencies().dynamodb,
        "ProvisionedThroughputExceededException",
        when=lambda params: "file-3.csv" in str(params["Item"]),
    )

    with pytest.raises(RetryableProcessingError):
        invoke("s3_put_five")

    document = one_document(capsys)
    assert emf_problems(document) == []
    # Transient failures are Lambda Errors (the handler raised), not error records.
    sizes = sum(
        r["s3"]["object"]["size"] for r in load_event("s3_put_five")["Records"] if "file-3" not in str(r)
    )
    assert values(document) == {**values(document), "ProcessingErrors": 0, "ObjectsProcessed": 4}
    assert values(document) == {**values(document), "BytesProcessed": sizes}


def test_the_document_is_written_when_settings_are_missing(aws, invoke, capsys, monkeypatch) -> None:
    from s3flow.functions.processor.dependencies import dependencies

    monkeypatch.delenv(contract.ENV_TABLE_NAME)
    monkeypatch.setenv(contract.ENV_ENVIRONMENT, "prod")
    dependencies.cache_clear()

    with pytest.raises(ConfigurationError):
        invoke("s3_put_single")

    document = one_document(capsys)
    assert emf_problems(document) == []
    assert document["Environment"] == "prod"
    assert document[contract.METRIC_OBJECTS_PROCESSED] == 0
    assert document[contract.METRIC_PROCESSING_LATENCY] > 0


def test_a_failed_step_counts_one_error_and_its_siblings_as_processed(aws, invoke, uploads, capsys) -> None:
    from s3flow.functions.processor.steps.registry import register_step

    def refuse_big(obj):
        if obj.size > 3:
            raise ValueError("too big for this step")
        return {"ok": True}

    register_step(refuse_big)
    records = [uploads.put("small.txt", b"abc"), uploads.put("big.txt", b"abcdef")]

    invoke({"Records": records})

    document = one_document(capsys)
    assert values(document) == {
        **values(document),
        "ObjectsProcessed": 1,
        "ProcessingErrors": 1,
        "BytesProcessed": 3,
    }
