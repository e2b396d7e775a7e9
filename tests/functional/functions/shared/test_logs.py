"""Structured logs of the processor handler on moto: every stdout line is JSON with the request and
trace ids, object lines name the object. A clean invocation writes its EMF document alone: its
success lines are DEBUG.
"""

from __future__ import annotations

import json
import logging

import pytest

from s3flow import contract
from s3flow.functions.processor.steps.registry import ObjectRef, register_step
from s3flow.functions.shared.errors import RetryableProcessingError
from s3flow.functions.shared.observability import logs
from support.functions import TRACE_HEADER, TRACE_ROOT, FakeContext, load_event, stdout_documents

from ..support import refuse_calls

CONTEXT = FakeContext(aws_request_id="c0ffee00-0000-4000-8000-000000000042")


@pytest.fixture
def log_level(monkeypatch):
    """Sets the processor's level as Lambda does (``AWS_LAMBDA_LOG_LEVEL``; None: unset)."""
    logger = logging.getLogger(logs.ROOT_LOGGER)
    previous = logger.level

    def set_level(level: str | None) -> None:
        if level is None:
            monkeypatch.delenv(logs.LEVEL_ENV, raising=False)
        else:
            monkeypatch.setenv(logs.LEVEL_ENV, level)
        logs.configure()

    yield set_level
    logger.setLevel(previous)


def test_every_line_is_json_with_request_and_trace_id(
    aws, invoke, uploads, capsys, monkeypatch, log_level
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)
    log_level("DEBUG")
    step_log = logging.getLogger("s3flow.functions.processor.steps.custom")

    def noisy(obj: ObjectRef) -> dict[str, int]:
        step_log.info("looking at the object")
        if obj.key == "boom.txt":
            raise RuntimeError("boom")
        return {"n": 1}

    register_step(noisy)
    records = [uploads.put("ok.txt", b"1"), uploads.put("boom.txt", b"2")]
    records.append({"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": "nope"})

    invoke({"Records": records}, CONTEXT)

    lines, documents = stdout_documents(capsys.readouterr().out)
    assert len(documents) == 1 and len(lines) >= 6
    for line in lines:
        assert line["requestId"] == CONTEXT.aws_request_id
        assert line["traceId"] == TRACE_ROOT
        assert line["functionName"] == CONTEXT.function_name
        assert line["environment"] == "test"
        assert {"timestamp", "level", "logger", "message"} <= set(line)
    per_object = [line for line in lines if "key" in line]
    assert {line["key"] for line in per_object} == {"ok.txt", "boom.txt"}
    versions = {record["s3"]["object"]["key"]: record["s3"]["object"]["versionId"] for record in records[:2]}
    for line in per_object:
        assert line["bucket"] == uploads.bucket
        assert line["versionId"] == versions[line["key"]]
        assert len(line["objectId"]) == 64
    from_step = [line for line in lines if line["logger"] == "s3flow.functions.processor.steps.custom"]
    assert {line["key"] for line in from_step} == {"ok.txt", "boom.txt"}
    [failure] = [line for line in lines if line.get("step") == "noisy"]
    assert failure["level"] == "WARNING" and failure["key"] == "boom.txt"
    assert failure["errorType"] == "RuntimeError" and "RuntimeError: boom" in failure["stackTrace"]
    [bad_record] = [line for line in lines if line.get("objectId", "").startswith("error#")]
    assert bad_record["message"] == "error record written: Invalid isoformat string: 'nope'"
    assert [line["key"] for line in lines if line["message"] == "record written"] == ["ok.txt"]
    assert "key" not in bad_record and "bucket" not in bad_record
    [summary] = [line for line in lines if "summary" in line]
    assert summary["summary"]["step_errors"] == 1


def test_a_failing_invocation_logs_its_error_with_the_ids(
    aws, invoke, capsys, monkeypatch, log_level
) -> None:
    from s3flow.functions.processor.dependencies import dependencies

    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)
    log_level(None)

    refuse_calls(monkeypatch, dependencies().dynamodb, "ProvisionedThroughputExceededException")

    with pytest.raises(RetryableProcessingError):
        invoke("s3_put_single", CONTEXT)

    lines, _ = stdout_documents(capsys.readouterr().out)
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert any("transient" in line["message"] and line["summary"]["failed"] == 1 for line in errors)
    assert any("ProvisionedThroughputExceededException" in line["message"] and line["key"] for line in errors)
    assert all(line["requestId"] == CONTEXT.aws_request_id for line in lines)
    assert all(line["traceId"] == TRACE_ROOT for line in lines)
    [summary] = [line for line in lines if line["message"] == "invocation processed"]
    assert summary["level"] == "INFO" and summary["summary"]["failed"] == 1


def test_a_duplicate_delivery_says_so_per_object(aws, invoke, capsys, log_level) -> None:
    log_level(None)
    invoke("s3_put_single", CONTEXT)
    capsys.readouterr()

    invoke("s3_put_single", CONTEXT)

    lines, _ = stdout_documents(capsys.readouterr().out)
    per_object = [line for line in lines if "key" in line]
    assert [line["message"] for line in per_object] == ["duplicate delivery skipped: already processed"]
    assert per_object[0]["key"] == "uploads/my file+x.txt"
    [summary] = [line for line in lines if line["message"] == "invocation processed"]
    assert summary["level"] == "INFO" and summary["summary"]["duplicates"] == 1


@pytest.mark.parametrize("event", ["s3_put_single", "s3_put_five"])
def test_a_clean_invocation_writes_only_its_emf_document(aws, invoke, capsys, monkeypatch, log_level, event):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)
    log_level(None)

    invoke(event, CONTEXT)

    lines, documents = stdout_documents(capsys.readouterr().out)
    assert lines == []
    [document] = documents
    assert document[contract.METRIC_OBJECTS_PROCESSED] == len(load_event(event)["Records"])
    assert document["requestId"] == CONTEXT.aws_request_id and document["traceId"] == TRACE_ROOT


def test_debug_brings_back_the_success_and_summary_lines(aws, invoke, capsys, monkeypatch, log_level) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)
    log_level("DEBUG")

    invoke("s3_put_single", CONTEXT)

    lines, documents = stdout_documents(capsys.readouterr().out)
    assert len(documents) == 1
    assert [(line["level"], line["message"]) for line in lines] == [
        ("DEBUG", "record written"),
        ("DEBUG", "invocation processed"),
    ]
    written, summary = lines
    assert all(line["requestId"] == CONTEXT.aws_request_id for line in lines)
    assert all(line["traceId"] == TRACE_ROOT for line in lines)
    assert written["key"] == "uploads/my file+x.txt" and written["status"] == "SUCCESS"
    assert len(written["objectId"]) == 64 and written["bucket"]
    assert summary["summary"] == {**summary["summary"], "records": 1, "succeeded": 1, "errors": 0}


@pytest.mark.parametrize(
    ("event", "field"),
    [("s3_mixed_valid_invalid_other", "errors"), ("s3_test_event", "ignored")],
)
def test_an_invocation_with_an_error_record_or_an_ignored_one_logs_its_summary_at_info(
    aws, invoke, capsys, log_level, event, field
) -> None:
    log_level(None)

    invoke(event, CONTEXT)

    lines, documents = stdout_documents(capsys.readouterr().out)
    assert len(documents) == 1
    [summary] = [line for line in lines if line["message"] == "invocation processed"]
    assert summary["level"] == "INFO" and summary["summary"][field] == 1
    assert summary["requestId"] == CONTEXT.aws_request_id
    assert not [line for line in lines if line["message"] == "record written"]


def test_a_retried_step_error_that_now_succeeds_logs_its_summary_at_info(
    aws, invoke, uploads, capsys, log_level
) -> None:
    log_level(None)
    attempts = []

    def flaky(obj: ObjectRef) -> dict[str, int]:
        attempts.append(obj.key)
        if len(attempts) == 1:
            raise RuntimeError("not yet")
        return {"n": 1}

    register_step(flaky)
    event = {"Records": [uploads.put("flaky.txt", b"1")]}
    invoke(event, CONTEXT)
    capsys.readouterr()

    invoke(event, CONTEXT)

    lines, _ = stdout_documents(capsys.readouterr().out)
    [summary] = [line for line in lines if line["message"] == "invocation processed"]
    assert summary["level"] == "INFO"
    assert summary["summary"] == {**summary["summary"], "retried": 1, "succeeded": 1, "errors": 0}


def test_ids_do_not_leak_out_of_the_invocation(aws, invoke, capsys) -> None:
    invoke("s3_put_single", CONTEXT)
    capsys.readouterr()

    logging.getLogger("s3flow.functions.later").warning("after the invocation")

    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert "requestId" not in line and "key" not in line
