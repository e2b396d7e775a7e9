"""Structured logs: every stdout line is JSON with the request and trace ids, object lines name the object."""

from __future__ import annotations

import json
import logging

import pytest
from processor_support import FakeContext, refuse_calls, stdout_documents

from s3flow.processor import logs
from s3flow.processor.exceptions import RetryableProcessingError
from s3flow.processor.extension import ObjectRef, register_step

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
ROOT = "1-5759e988-bd862e3fe1be46a994272793"
CONTEXT = FakeContext(aws_request_id="c0ffee00-0000-4000-8000-000000000042")


def test_every_line_is_json_with_request_and_trace_id(aws, invoke, uploads, capsys, monkeypatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    step_log = logging.getLogger("s3flow.processor.steps.custom")

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
        assert line["traceId"] == ROOT
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
    from_step = [line for line in lines if line["logger"] == "s3flow.processor.steps.custom"]
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


def test_a_failing_invocation_logs_its_error_with_the_ids(aws, invoke, capsys, monkeypatch) -> None:
    from s3flow.processor.dependencies import dependencies

    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)

    refuse_calls(monkeypatch, dependencies().dynamodb, "ProvisionedThroughputExceededException")

    with pytest.raises(RetryableProcessingError):
        invoke("s3_put_single", CONTEXT)

    lines, _ = stdout_documents(capsys.readouterr().out)
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert any("transient" in line["message"] and line["summary"]["failed"] == 1 for line in errors)
    assert any("ProvisionedThroughputExceededException" in line["message"] and line["key"] for line in errors)
    assert all(line["requestId"] == CONTEXT.aws_request_id and line["traceId"] == ROOT for line in lines)


def test_a_duplicate_delivery_says_so_per_object(aws, invoke, capsys) -> None:
    invoke("s3_put_single", CONTEXT)
    capsys.readouterr()

    invoke("s3_put_single", CONTEXT)

    lines, _ = stdout_documents(capsys.readouterr().out)
    per_object = [line for line in lines if "key" in line]
    assert [line["message"] for line in per_object] == ["duplicate delivery skipped: already processed"]
    assert per_object[0]["key"] == "uploads/my file+x.txt"


def test_ids_do_not_leak_out_of_the_invocation(aws, invoke, capsys) -> None:
    invoke("s3_put_single", CONTEXT)
    capsys.readouterr()

    logging.getLogger("s3flow.processor.later").warning("after the invocation")

    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert "requestId" not in line and "key" not in line


def test_the_formatter_keeps_one_line_and_encodes_anything() -> None:
    formatter = logs.JsonFormatter()
    record = logging.LogRecord(
        "s3flow.processor.x", logging.INFO, __file__, 1, "two\nlines %s", ("arg",), None
    )
    record.custom = {"when": object()}

    text = formatter.format(record)

    assert "\n" not in text
    line = json.loads(text)
    assert line["message"] == "two\nlines arg"
    assert line["custom"]["when"].startswith("<object")
    assert line["level"] == "INFO" and line["timestamp"].endswith("Z")


def test_configure_is_idempotent_and_does_not_propagate() -> None:
    logger = logs.configure({})
    logs.configure({"AWS_LAMBDA_LOG_LEVEL": "warn"})  # not a level name: back to the default
    logs.configure({"AWS_LAMBDA_LOG_LEVEL": "DEBUG"})

    assert sum(isinstance(h, logs.StdoutHandler) for h in logger.handlers) == 1
    assert logger.propagate is False
    assert logger.level == logging.DEBUG
    logs.configure({})
    assert logger.level == logging.INFO


@pytest.mark.parametrize(
    ("header", "root"),
    [
        (TRACE, ROOT),
        ("Parent=53995c3f42cd8ad8;Root=1-5759e988-bd862e3fe1be46a994272793", ROOT),
        ("Sampled=1", None),
        (None, None),
        ("", None),
    ],
)
def test_trace_root(header, root) -> None:
    assert logs.trace_root(header) == root
