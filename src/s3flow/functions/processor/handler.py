"""Lambda entry point: parse the S3 event, process it, report. The logic lives elsewhere."""

from __future__ import annotations

import logging
import os
from typing import Any

from s3flow.functions.processor.dependencies import dependencies
from s3flow.functions.processor.items import Invocation
from s3flow.functions.processor.processing import process
from s3flow.functions.processor.records import parse_event
from s3flow.functions.shared.errors import RetryableProcessingError
from s3flow.functions.shared.observability import logs
from s3flow.functions.shared.observability.context import observed
from s3flow.functions.shared.observability.tracing import TRACE_HEADER_ENV, invocation_trace

logs.configure()
logger = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    trace_header = os.environ.get(TRACE_HEADER_ENV)  # per invocation: Lambda sets it for each one
    with observed(context, trace_header) as observation:
        deps = dependencies()
        invocation = Invocation.from_context(
            context, trace_header=trace_header, environment=deps.settings.environment
        )
        records = parse_event(event)
        with invocation_trace(trace_header, region=deps.region) as trace:
            summary = process(records, deps, invocation, trace)
        observation.summary = summary.as_dict()
        # A clean invocation is fully told by its EMF document: its summary only at DEBUG.
        level = logging.DEBUG if summary.clean else logging.INFO
        logger.log(level, "invocation processed", extra={"summary": observation.summary})
        if summary.failed:
            raise RetryableProcessingError(
                f"{summary.failed} record(s) hit transient failures; retry to finish them",
                summary=observation.summary,
            )
        return observation.summary
