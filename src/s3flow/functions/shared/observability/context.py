"""One invocation's logs context and metrics document, whatever way the handler leaves."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from s3flow import contract
from s3flow.functions.shared.errors import RetryableProcessingError
from s3flow.functions.shared.observability import emf, logs
from s3flow.functions.shared.observability.trace_header import trace_root

logger = logging.getLogger(__name__)
_warm = False


@dataclass
class Observation:
    """Filled in by the handler: the summary the metrics are computed from."""

    summary: dict[str, int] | None = None


def _cold_start() -> bool:
    global _warm
    cold, _warm = not _warm, True
    return cold


MetricValues = Callable[[Mapping[str, int] | None, float], dict[str, float]]


def processor_metrics(summary: Mapping[str, int] | None, latency_ms: float) -> dict[str, float]:
    return emf.metric_values(summary, latency_ms=latency_ms)


@contextlib.contextmanager
def observed(
    context: Any, trace_header: str | None, values: MetricValues = processor_metrics
) -> Iterator[Observation]:
    """Every log line inside carries the invocation's ids; one EMF document is written on the way out.

    ``values`` turns the summary the handler leaves in the observation (None if it failed
    first) and the latency into the function's metrics: the processor's by default.

    The environment comes straight from ``S3FLOW_ENVIRONMENT`` so that even an invocation
    failing on its settings still writes its document (latency, zero counts) under the right
    dimension.
    """
    environment = os.environ.get(contract.ENV_ENVIRONMENT) or "dev"
    request_id = str(getattr(context, "aws_request_id", None) or "unknown")
    function_name = str(getattr(context, "function_name", None) or "unknown")
    cold_start = _cold_start()
    observation = Observation()
    started = time.perf_counter()
    with logs.invocation_context(
        request_id=request_id,
        trace_header=trace_header,
        function_name=function_name,
        environment=environment,
        cold_start=cold_start,
    ):
        try:
            yield observation
        except RetryableProcessingError as error:
            logger.error("%s", error, extra={"summary": error.summary})
            raise
        except Exception:
            logger.exception("invocation failed")
            raise
        finally:
            latency_ms = (time.perf_counter() - started) * 1000
            metric_values = values(observation.summary, latency_ms)
            properties = {
                "requestId": request_id,
                "traceId": trace_root(trace_header),
                "functionName": function_name,
                "coldStart": cold_start,
            }
            document = emf.emf_document(
                metric_values,
                environment=environment,
                timestamp_ms=int(time.time() * 1000),
                properties=properties,
            )
            emf.emit(document)
