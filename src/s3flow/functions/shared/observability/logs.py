"""Structured logs: every line the processor writes is one JSON object on stdout.

Every line carries the invocation's ids (``requestId`` = Lambda's ``aws_request_id``,
``traceId`` = the X-Ray trace root, ``functionName``, ``environment``, ``coldStart``);
lines written while one object is handled also carry ``bucket``, ``key``, ``versionId``
and ``objectId`` (the record's table key). Fields passed with ``extra=`` are added as they
are. The ids live in context variables set by the handler, so any logger under
``s3flow.functions`` (user steps included) gets them without passing anything around.

Standard library only: Powertools' Logger would add ~23 ms to every cold start (measured,
see docs/observability.md) for what is here a formatter and two context variables.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from s3flow import contract
from s3flow.functions.shared.observability.trace_header import trace_root

ROOT_LOGGER = "s3flow.functions"
# Lambda sets this when the function's application log level is configured.
LEVEL_ENV = "AWS_LAMBDA_LOG_LEVEL"
DEFAULT_LEVEL = "INFO"

_NONE: Mapping[str, Any] = MappingProxyType({})
_invocation: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("invocation", default=_NONE)
_object: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("object", default=_NONE)
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def _timestamp(created: float) -> str:
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({name: value for name, value in record.__dict__.items() if name not in _RESERVED})
        entry.update(_invocation.get())
        entry.update(_object.get())
        if record.exc_info and record.exc_info[0] is not None:
            entry["errorType"] = record.exc_info[0].__name__
            entry["stackTrace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


class StdoutHandler(logging.Handler):
    """Writes to whatever ``sys.stdout`` is at emit time (Lambda's, or a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except Exception:  # noqa: BLE001 - logging must never fail the invocation
            self.handleError(record)


def configure(env: Mapping[str, str] | None = None) -> logging.Logger:
    """Give ``s3flow.functions`` its JSON handler once; idempotent.

    ``propagate = False``: Lambda's runtime puts its own text handler on the root logger,
    which would print every line a second time.
    """
    env = os.environ if env is None else env
    logger = logging.getLogger(ROOT_LOGGER)
    if not any(isinstance(handler, StdoutHandler) for handler in logger.handlers):
        handler = StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    level = (env.get(LEVEL_ENV) or DEFAULT_LEVEL).upper()
    level = "DEBUG" if level == "TRACE" else level  # Lambda's finest level; Python's is DEBUG
    logger.setLevel(level if level in logging.getLevelNamesMapping() else DEFAULT_LEVEL)
    logger.propagate = False
    return logger


@contextlib.contextmanager
def invocation_context(
    *, request_id: str, trace_header: str | None, function_name: str, environment: str, cold_start: bool
) -> Iterator[None]:
    token = _invocation.set(
        {
            "requestId": request_id,
            "traceId": trace_root(trace_header),
            "functionName": function_name,
            "environment": environment,
            "coldStart": cold_start,
        }
    )
    try:
        yield
    finally:
        _invocation.reset(token)


@contextlib.contextmanager
def object_context(item: Mapping[str, Any]) -> Iterator[None]:
    """Per-object fields from a planned item (object items have bucket and key, error items do not)."""
    fields = {
        "bucket": item.get("bucketName"),
        "key": item.get("objectKey"),
        "versionId": item.get("versionId"),
        "objectId": item.get(contract.TABLE_PARTITION_KEY),
    }
    token = _object.set({name: value for name, value in fields.items() if value is not None})
    try:
        yield
    finally:
        _object.reset(token)
