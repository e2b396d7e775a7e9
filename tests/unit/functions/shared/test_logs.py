"""The log formatter without AWS: one JSON line whatever it is given, Lambda's log levels, idempotent
set-up, when a summary is clean, trace roots. What an invocation logs is in tests/functional."""

from __future__ import annotations

import json
import logging

import pytest

from s3flow.functions.processor.processing import Summary
from s3flow.functions.shared.observability import logs
from s3flow.functions.shared.observability.trace_header import trace_root
from support.functions import TRACE_HEADER, TRACE_ROOT


@pytest.mark.parametrize(
    ("counts", "clean"),
    [
        ({"records": 1, "succeeded": 1}, True),
        ({"records": 5, "succeeded": 5}, True),
        ({}, False),
        ({"records": 2, "succeeded": 1, "ignored": 1}, False),
        ({"records": 2, "succeeded": 1, "duplicates": 1}, False),
        ({"records": 2, "succeeded": 1, "errors": 1}, False),
        ({"records": 1, "errors": 1, "step_errors": 1}, False),
        ({"records": 2, "succeeded": 1, "failed": 1}, False),
        ({"records": 1, "succeeded": 1, "retried": 1}, False),
    ],
)
def test_a_summary_is_clean_only_when_every_record_is_a_new_success(counts, clean) -> None:
    assert Summary(**counts).clean is clean


def test_the_formatter_keeps_one_line_and_encodes_anything() -> None:
    formatter = logs.JsonFormatter()
    record = logging.LogRecord(
        "s3flow.functions.x", logging.INFO, __file__, 1, "two\nlines %s", ("arg",), None
    )
    record.custom = {"when": object()}

    text = formatter.format(record)

    assert "\n" not in text
    line = json.loads(text)
    assert line["message"] == "two\nlines arg"
    assert line["custom"]["when"].startswith("<object")
    assert line["level"] == "INFO" and line["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    ("lambda_level", "python_level"),
    [
        ("TRACE", logging.DEBUG),
        ("debug", logging.DEBUG),
        ("WARN", logging.WARNING),
        ("FATAL", logging.CRITICAL),
    ],
)
def test_every_lambda_application_log_level_maps_to_its_python_level(
    lambda_level: str, python_level: int
) -> None:
    logger = logs.configure({"AWS_LAMBDA_LOG_LEVEL": lambda_level})

    assert logger.level == python_level
    logs.configure({})


def test_configure_is_idempotent_and_does_not_propagate() -> None:
    logger = logs.configure({})
    logs.configure({"AWS_LAMBDA_LOG_LEVEL": "verbose"})  # not a level name: back to the default
    logs.configure({"AWS_LAMBDA_LOG_LEVEL": "DEBUG"})

    assert sum(isinstance(h, logs.StdoutHandler) for h in logger.handlers) == 1
    assert logger.propagate is False
    assert logger.level == logging.DEBUG
    logs.configure({})
    assert logger.level == logging.INFO


@pytest.mark.parametrize(
    ("header", "root"),
    [
        (TRACE_HEADER, TRACE_ROOT),
        ("Parent=53995c3f42cd8ad8;Root=1-5759e988-bd862e3fe1be46a994272793", TRACE_ROOT),
        ("Sampled=1", None),
        (None, None),
        ("", None),
        (TRACE_ROOT, TRACE_ROOT),  # a bare id, as some records keep it
        ("Root=", None),
    ],
)
def test_trace_root(header, root) -> None:
    assert trace_root(header) == root
