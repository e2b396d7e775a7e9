"""Lambda's asynchronous invocation, locally: queue, concurrency, retries, destination.

Per function: one event queue and ``concurrency`` sandboxes (worker processes, like
reserved concurrency) that run the handler imported from the installed package. Each
sandbox gets exactly the function's environment from the template, plus what Lambda
itself sets (region, function name, credentials, X-Ray daemon address) and
``AWS_ENDPOINT_URL`` pointing at the local server; ``_X_AMZN_TRACE_ID`` is set per
invocation.

Retries follow the function's ``EventInvokeConfig``: ``maximum_retry_attempts`` retries
after the delays in ``retry_delays`` (Lambda waits about 1 minute, then about 2; tests pass
fractions of a second), and no attempt starts once the event is older than
``maximum_event_age_seconds``. What still fails is sent to the on-failure SQS queue as
Lambda's invocation record. A sandbox that dies or times out counts as a failed attempt
and is replaced.

The runtime also answers Lambda's ``Invoke`` API for our functions (``Event``: 202 and
queue; ``RequestResponse``: run once and return; ``DryRun``: 204), so that the same boto3
``lambda.invoke`` call redrives a failure locally and on AWS.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from werkzeug.wrappers import Request, Response

from s3flow.local.deployment import Deployment, FunctionSpec
from s3flow.local.errors import FunctionNotFoundError
from s3flow.local.lambda_worker import Outcome, Sandbox

log = logging.getLogger(__name__)

# Lambda's own delays before the first and second retry of an async invocation.
LAMBDA_RETRY_DELAYS: tuple[float, ...] = (60.0, 120.0)
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Invoke's payload limits: asynchronous (Event) and synchronous (RequestResponse).
MAX_EVENT_PAYLOAD = 1024 * 1024
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")

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


class Listener:
    """What the runtime reports as invocations progress (the pipeline turns it into FlowEvents)."""

    def queued(self, invocation: Invocation) -> None: ...
    def succeeded(self, invocation: Invocation, outcome: Outcome) -> None: ...
    def retrying(self, invocation: Invocation, outcome: Outcome, delay: float) -> None: ...
    def failed(self, invocation: Invocation, condition: str) -> None: ...


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
    """One sandbox's log stream in the function's log group in moto, as Lambda writes it."""

    def __init__(self, *, account: str, region: str, group: str, stream: str) -> None:
        self.account, self.region, self.group, self.stream = account, region, group, stream
        self._created = False
        self._lock = threading.Lock()

    def write(self, message: str) -> None:
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
    """Lambda's START / END / REPORT lines around one invocation."""
    rid = invocation.request_id
    duration = (outcome.ended - outcome.started) * 1000
    report = (
        f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: {max(1, round(duration))} ms"
        f"\tMemory Size: {invocation.function.memory_mb} MB"
    )
    if outcome.init is not None:
        report += f"\tInit Duration: {(outcome.init[1] - outcome.init[0]) * 1000:.2f} ms"
    return [f"START RequestId: {rid} Version: $LATEST", f"END RequestId: {rid}", report]


def sandbox_environment(
    spec: FunctionSpec,
    *,
    region: str,
    endpoint_url: str,
    xray_daemon_address: str | None,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The function's environment from the template plus what Lambda sets itself."""
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
            **DUMMY_CREDENTIALS,
        }
    )
    if xray_daemon_address:
        environment["AWS_XRAY_DAEMON_ADDRESS"] = xray_daemon_address
        environment["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR"
    environment.update(overrides or {})
    return environment


class FunctionQueue:
    """One function's queue of invocations and its sandboxes."""

    def __init__(self, runtime: LambdaRuntime, spec: FunctionSpec, concurrency: int) -> None:
        self.runtime = runtime
        self.spec = spec
        self._heap: list[tuple[float, int, Invocation]] = []
        self._order = itertools.count()
        self._running = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._generation = 0  # bumped when the environment override changes
        self._sandboxes: set[Sandbox] = set()
        self._threads = [
            threading.Thread(target=self._slot, name=f"lambda-{spec.name}-{i}", daemon=True)
            for i in range(concurrency)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, invocation: Invocation, delay: float = 0.0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._order), invocation))
            self._cond.notify()

    def idle(self) -> bool:
        with self._cond:
            return not self._heap and self._running == 0

    def renew_sandboxes(self) -> None:
        with self._cond:
            self._generation += 1

    def stop(self) -> None:
        """Stops the slots; running invocations are cut short and queued ones dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            sandboxes = list(self._sandboxes)
        for sandbox in sandboxes:
            sandbox.kill()
        for thread in self._threads:
            thread.join(timeout=10)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def _next(self) -> Invocation | None:
        with self._cond:
            while not self._stopping:
                if self._heap:
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        self._running += 1
                        return heapq.heappop(self._heap)[2]
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _slot(self) -> None:
        sandbox: Sandbox | None = None
        generation = -1
        while True:
            invocation = self._next()
            if invocation is None:
                break
            try:
                if sandbox is not None and (generation != self._generation or not sandbox.alive()):
                    self._retire(sandbox)
                    sandbox = None
                if sandbox is None:
                    generation = self._generation
                    sandbox = self.runtime.new_sandbox(self.spec)
                    with self._cond:
                        self._sandboxes.add(sandbox)
                        stopping = self._stopping
                    if stopping:  # stop() came while this sandbox started: it never saw it
                        self._retire(sandbox)
                        sandbox = None
                        break
                outcome = self.runtime.attempt(invocation, sandbox)
                if not sandbox.alive():
                    self._retire(sandbox)  # died or was killed on timeout: replaced on next use
                    sandbox = None
                self.runtime.settle(invocation, outcome, self)
            except Exception:
                log.exception("local Lambda runtime failed on %s", invocation.request_id)
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()
        if sandbox is not None:
            self._retire(sandbox)

    def _retire(self, sandbox: Sandbox) -> None:
        sandbox.kill()
        with self._cond:
            self._sandboxes.discard(sandbox)


class LambdaRuntime:
    """Async (and sync) invocation of the deployment's functions."""

    def __init__(
        self,
        deployment: Deployment,
        *,
        endpoint_url: str,
        concurrency: int = 4,
        retry_delays: Sequence[float] = LAMBDA_RETRY_DELAYS,
        xray_daemon_address: str | None = None,
        on_segment: Callable[[dict[str, Any]], None] | None = None,
        listener: Listener | None = None,
        environment_overrides: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if not retry_delays:
            raise ValueError("retry_delays needs at least one delay")
        self.deployment = deployment
        self.endpoint_url = endpoint_url
        self.concurrency = concurrency
        self.retry_delays = tuple(retry_delays)
        self.xray_daemon_address = xray_daemon_address
        self.on_segment = on_segment
        self.listener = listener or Listener()
        self._overrides: dict[str, dict[str, str]] = {
            k: dict(v) for k, v in (environment_overrides or {}).items()
        }
        self._queues: dict[str, FunctionQueue] = {}
        self._sqs: Any = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        for name, spec in self.deployment.functions.items():
            self._queues[name] = FunctionQueue(self, spec, self.slots_for(spec))

    def slots_for(self, spec: FunctionSpec) -> int:
        """``concurrency``, capped by the function's reserved concurrency (at least one)."""
        if spec.reserved_concurrency is None:
            return self.concurrency
        return max(1, min(self.concurrency, spec.reserved_concurrency))

    def stop(self) -> None:
        for queue in self._queues.values():
            queue.stop()
        self._queues.clear()

    def idle(self) -> bool:
        return all(queue.idle() for queue in self._queues.values())

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.05)
        return self.idle()

    def override_environment(self, function_name: str, overrides: Mapping[str, str] | None) -> None:
        """Test hook: extra environment for a function (None clears it), from its next attempt on."""
        spec = self.resolve(function_name)
        if overrides:
            self._overrides[spec.name] = dict(overrides)
        else:
            self._overrides.pop(spec.name, None)
        if spec.name in self._queues:
            self._queues[spec.name].renew_sandboxes()

    # -- invoking ----------------------------------------------------------------------

    def resolve(self, name_or_arn: str) -> FunctionSpec:
        """A function by name, ARN, or ARN with a ``$LATEST`` qualifier."""
        if name_or_arn in self.deployment.functions:
            return self.deployment.functions[name_or_arn]
        for spec in self.deployment.functions.values():
            if name_or_arn in (spec.arn, f"{spec.arn}:$LATEST") or name_or_arn.endswith(
                f":function:{spec.name}"
            ):
                return spec
        raise FunctionNotFoundError(name_or_arn)

    def enqueue(self, function_name_or_arn: str, event: Any) -> Invocation:
        """An asynchronous invocation (what S3 and ``InvocationType=Event`` do)."""
        spec = self.resolve(function_name_or_arn)
        invocation = Invocation(function=spec, event=event)
        self.listener.queued(invocation)
        self._queues[spec.name].put(invocation)
        return invocation

    def invoke(self, function_name_or_arn: str, event: Any, timeout: float | None = None) -> Outcome:
        """A synchronous invocation: one attempt, no retries, no destination."""
        spec = self.resolve(function_name_or_arn)
        invocation = Invocation(function=spec, event=event, asynchronous=False, result=Future())
        self._queues[spec.name].put(invocation)
        assert invocation.result is not None
        return invocation.result.result(timeout=timeout or spec.timeout_seconds + 60)

    def new_sandbox(self, spec: FunctionSpec) -> Sandbox:
        environment = sandbox_environment(
            spec,
            region=self.deployment.region,
            endpoint_url=self.endpoint_url,
            xray_daemon_address=self.xray_daemon_address,
            overrides=self._overrides.get(spec.name),
        )
        context_base = {
            "function_name": spec.name,
            "function_version": "$LATEST",
            "invoked_function_arn": spec.arn,
            "memory_limit_in_mb": spec.memory_mb,
            "log_group_name": log_group_of(spec),
            "log_stream_name": f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        }
        environment["AWS_LAMBDA_LOG_STREAM_NAME"] = context_base["log_stream_name"]
        log = FunctionLog(
            account=self.deployment.account,
            region=self.deployment.region,
            group=context_base["log_group_name"],
            stream=context_base["log_stream_name"],
        )
        return Sandbox(spec.handler, environment, context_base, on_output=log.write)

    def attempt(self, invocation: Invocation, sandbox: Sandbox) -> Outcome | None:
        """Run one attempt, or None if the event is too old to be attempted."""
        age = time.time() - invocation.received_at
        if invocation.asynchronous and age > invocation.function.async_config.maximum_event_age_seconds:
            return None
        invocation.attempts += 1
        segment_id = new_segment_id()
        trace_header = f"Root={invocation.trace_id};Parent={segment_id};Sampled=1"
        self._log(sandbox, [f"START RequestId: {invocation.request_id} Version: $LATEST"])
        outcome = sandbox.run(
            invocation.event,
            request_id=invocation.request_id,
            trace_header=trace_header,
            timeout_seconds=invocation.function.timeout_seconds,
        )
        invocation.last = outcome
        self._log(sandbox, report_lines(invocation, outcome)[1:])
        if invocation.function.tracing_active and self.on_segment is not None:
            try:
                self.on_segment(function_segment(invocation, segment_id, outcome))
            except Exception:
                log.exception("could not record the function segment")
        return outcome

    @staticmethod
    def _log(sandbox: Sandbox, lines: list[str]) -> None:
        if sandbox.on_output is None:
            return
        try:
            for line in lines:
                sandbox.on_output(line)
        except Exception:
            log.warning("could not write the function's log", exc_info=True)

    def settle(self, invocation: Invocation, outcome: Outcome | None, queue: FunctionQueue) -> None:
        """Decide what follows an attempt: done, retry later, or the failure destination."""
        if not invocation.asynchronous:
            assert invocation.result is not None and outcome is not None
            invocation.result.set_result(outcome)
            return
        if queue.stopping:
            return  # cut short by stop(): neither a retry nor a failure
        if outcome is None:
            self._fail(invocation, CONDITION_EVENT_AGE_EXCEEDED)
            return
        if outcome.ok:
            self.listener.succeeded(invocation, outcome)
            return
        retries_done = invocation.attempts - 1
        if retries_done < invocation.function.async_config.maximum_retry_attempts:
            delay = self.retry_delays[min(retries_done, len(self.retry_delays) - 1)]
            self.listener.retrying(invocation, outcome, delay)
            queue.put(invocation, delay)
            return
        self._fail(invocation, CONDITION_RETRIES_EXHAUSTED)

    def _fail(self, invocation: Invocation, condition: str) -> None:
        self.listener.failed(invocation, condition)
        destination = invocation.function.async_config.on_failure_arn
        if not destination:
            return  # dropped, as on AWS without a destination
        record = destination_record(invocation, condition)
        try:
            self._send_to_queue(destination, record)
        except Exception:
            log.exception("could not deliver a failed invocation to %s", destination)

    def _send_to_queue(self, queue_arn: str, record: dict[str, Any]) -> None:
        _, _, _, region, account, name = queue_arn.split(":", 5)
        if self._sqs is None:
            self._sqs = boto3.session.Session(region_name=region).client(
                "sqs",
                endpoint_url=self.endpoint_url,
                aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
        url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        self._sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))

    # -- the Invoke API ----------------------------------------------------------------

    def route(self, request: Request) -> Response | None:
        """Answers ``POST /2015-03-31/functions/{name}/invocations`` for our functions."""
        match = _INVOKE_PATH.match(request.path)
        if request.method != "POST" or match is None:
            return None
        try:
            spec = self.resolve(match.group("name"))
        except FunctionNotFoundError:
            return None  # not ours: moto answers
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        request_id = str(uuid.uuid4())
        headers = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": "$LATEST"}
        if invocation_type == "DryRun":
            return Response(status=204, headers=headers)
        raw = request.get_data()
        limit = MAX_EVENT_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(raw) > limit:
            return _lambda_error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the Invoke operation",
            )
        try:
            event = json.loads(raw) if raw else {}
        except ValueError:
            return _lambda_error(
                400, "InvalidRequestContentException", "Could not parse request body into json"
            )
        if invocation_type == "Event":
            invocation = self.enqueue(spec.name, event)
            headers["x-amzn-RequestId"] = invocation.request_id
            return Response(status=202, headers=headers)
        outcome = self.invoke(spec.name, event)
        if not outcome.ok:
            headers["X-Amz-Function-Error"] = "Unhandled"
        return Response(
            json.dumps(outcome.payload), status=200, headers=headers, content_type="application/json"
        )


def _lambda_error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"Type": "User", "message": message}),
        status=status,
        headers={"x-amzn-ErrorType": code},
        content_type="application/json",
    )
