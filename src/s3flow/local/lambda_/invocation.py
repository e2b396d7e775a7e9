"""What Lambda records about invocations: the invocation itself, the on-failure record,
the function's X-Ray segment, its log lines, and the environment a sandbox starts with.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from s3flow.local.credentials import role_credentials
from s3flow.local.deployment import FunctionSpec
from s3flow.local.lambda_.sandbox import OUT_OF_MEMORY, Outcome

CONDITION_RETRIES_EXHAUSTED = "RetriesExhausted"
CONDITION_EVENT_AGE_EXCEEDED = "EventAgeExceeded"


def new_trace_id(now: float | None = None) -> str:
    return f"1-{int(now if now is not None else time.time()):08x}-{uuid.uuid4().hex[:24]}"


def new_segment_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class Invocation:
    """One request to a function, across all its attempts."""

    function: FunctionSpec
    event: Any
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trace_id: str = field(default_factory=new_trace_id)
    received_at: float = field(default_factory=time.time)
    asynchronous: bool = True
    attempts: int = 0
    last: Outcome | None = None
    result: Future[Outcome] | None = None  # only for RequestResponse


def destination_record(
    invocation: Invocation, condition: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """The record Lambda sends to an on-failure destination."""
    now = now or datetime.now(UTC)
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": f"{invocation.function.arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": invocation.attempts,
        },
        "requestPayload": invocation.event,
    }
    if invocation.last is not None:
        record["responseContext"] = {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        }
        payload = invocation.last.payload if isinstance(invocation.last.payload, dict) else {}
        record["responsePayload"] = {
            name: payload[name]
            for name in ("errorMessage", "errorType", "requestId", "stackTrace")
            if name in payload
        }
    return record


def function_segment(invocation: Invocation, segment_id: str, outcome: Outcome) -> dict[str, Any]:
    """The ``AWS::Lambda::Function`` segment Lambda records per invocation with active tracing,
    with its ``Initialization`` (cold starts only) and ``Invocation`` subsegments."""
    phases = [("Invocation", outcome.started, outcome.ended)]
    if outcome.init is not None:
        phases.insert(0, ("Initialization", *outcome.init))
    segment: dict[str, Any] = {
        "name": invocation.function.name,
        "id": segment_id,
        "trace_id": invocation.trace_id,
        "start_time": phases[0][1],
        "end_time": outcome.ended,
        "origin": "AWS::Lambda::Function",
        "subsegments": [
            {"id": new_segment_id(), "name": name, "start_time": start, "end_time": end}
            for name, start, end in phases
        ],
        "aws": {
            "function_arn": invocation.function.arn,
            "request_id": invocation.request_id,
            "invocation_attempt": invocation.attempts,
        },
    }
    if not outcome.ok:
        payload = outcome.payload if isinstance(outcome.payload, dict) else {}
        segment["fault"] = True
        segment["cause"] = {
            "exceptions": [
                {
                    "id": new_segment_id(),
                    "type": payload.get("errorType"),
                    "message": payload.get("errorMessage"),
                }
            ]
        }
    return segment


def log_group_of(spec: FunctionSpec) -> str:
    return spec.log_group or f"/aws/lambda/{spec.name}"


class FunctionLog:
    """One sandbox's log stream in the function's log group in moto, as Lambda writes it.

    ``denied``: why the function's role may not write it (None: it may); Lambda then writes
    nothing, so the lines are lost as on AWS."""

    def __init__(
        self, *, account: str, region: str, group: str, stream: str, denied: str | None = None
    ) -> None:
        self.account, self.region, self.group, self.stream = account, region, group, stream
        self.denied = denied
        self._created = False
        self._lock = threading.Lock()

    def write(self, message: str) -> None:
        if self.denied is not None:
            return
        from moto.logs.models import logs_backends

        backend = logs_backends[self.account][self.region]
        with self._lock:
            if not self._created:
                if self.group not in backend.groups:  # Lambda creates its log group if missing
                    backend.create_log_group(self.group, {})
                backend.create_log_stream(self.group, self.stream)
                self._created = True
            backend.put_log_events(
                self.group, self.stream, [{"timestamp": int(time.time() * 1000), "message": message}]
            )


def report_lines(invocation: Invocation, outcome: Outcome) -> list[str]:
    """Lambda's START / END / REPORT lines around one invocation, in the REPORT's field order
    (https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html): Duration, Billed
    Duration, Memory Size, Max Memory Used, Init Duration on a cold start. An environment stopped
    for going past its memory adds ``Status: error`` and ``Error Type: Runtime.OutOfMemory`` to
    the REPORT, and Lambda's line naming the error follows it."""
    rid = invocation.request_id
    duration = (outcome.ended - outcome.started) * 1000
    report = (
        f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: {max(1, round(duration))} ms"
        f"\tMemory Size: {invocation.function.memory_mb} MB"
    )
    if outcome.max_memory_mb is not None:
        report += f"\tMax Memory Used: {outcome.max_memory_mb} MB"
    if outcome.init is not None:
        report += f"\tInit Duration: {(outcome.init[1] - outcome.init[0]) * 1000:.2f} ms"
    lines = [f"START RequestId: {rid} Version: $LATEST", f"END RequestId: {rid}", report]
    payload = outcome.payload if isinstance(outcome.payload, dict) else {}
    if not outcome.ok and payload.get("errorType") == OUT_OF_MEMORY:
        lines[-1] += f"\tStatus: error\tError Type: {OUT_OF_MEMORY}"
        lines.append(f"{payload.get('errorMessage')}\n{OUT_OF_MEMORY}")
    return lines


def sandbox_environment(
    spec: FunctionSpec,
    *,
    region: str,
    endpoint_url: str,
    xray_daemon_address: str | None,
    overrides: Mapping[str, str] | None = None,
    ca_bundle: str | None = None,
    tmpdir: str | None = None,
) -> dict[str, str]:
    """The function's environment from the template plus what Lambda sets itself: the
    role's credentials, and (``ca_bundle``) the CA that signed an HTTPS emulator's
    certificate, named by the variables Python's ``ssl`` and botocore read. ``tmpdir``: the
    sandbox's own ``/tmp`` (``ephemeral_storage``), as ``TMPDIR``, which ``tempfile`` reads;
    Lambda sets no ``TMPDIR``, its ``/tmp`` being the environment's own."""
    environment = dict(spec.environment)
    environment.update(
        {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": log_group_of(spec),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
            **role_credentials(spec.role_arn, spec.name),
        }
    )
    if tmpdir:
        environment["TMPDIR"] = tmpdir
    if ca_bundle:
        environment["SSL_CERT_FILE"] = ca_bundle
        environment["AWS_CA_BUNDLE"] = ca_bundle
    if spec.application_log_level:
        environment["AWS_LAMBDA_LOG_LEVEL"] = spec.application_log_level
    if xray_daemon_address:
        environment["AWS_XRAY_DAEMON_ADDRESS"] = xray_daemon_address
        environment["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR"
    environment.update(overrides or {})
    return environment
