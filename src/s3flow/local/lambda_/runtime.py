"""Lambda's asynchronous invocation, locally: queue, concurrency, retries, destination.

Per function: one event queue and ``concurrency`` sandboxes (``function_queue``) (worker processes, like
reserved concurrency) that run the handler imported from the function's asset (``sandbox``). Each
sandbox gets exactly the function's environment from the template, plus what Lambda
itself sets (region, function name, credentials, X-Ray daemon address) and
``AWS_ENDPOINT_URL`` pointing at the local server; ``_X_AMZN_TRACE_ID`` is set per
invocation.

Retries follow the function's ``EventInvokeConfig``: ``maximum_retry_attempts`` retries
after the delays in ``retry_delays`` (Lambda waits about 1 minute, then about 2; tests pass
fractions of a second), and no attempt starts once the event is older than
``maximum_event_age_seconds``. What still fails is sent to the on-failure SQS queue as
Lambda's invocation record. A sandbox that dies, times out or goes past its function's
memory (``memory``: ``Runtime.OutOfMemory``) counts as a failed attempt and is replaced; one
that cannot start fails the attempt at once with an init error. Each sandbox has its own
``/tmp`` of the function's ``EphemeralStorage`` size (``ephemeral_storage``), kept across its
warm invocations.

The function's output, with Lambda's START / END / REPORT lines, goes to its log group
(``invocation.FunctionLog``); output lines in embedded metric format become CloudWatch
metrics in the emulator, as CloudWatch Logs extracts them on AWS (``metrics``). The
runtime also answers Lambda's ``Invoke`` API for our functions (``invoke_api``), so that
the same boto3 ``lambda.invoke`` call redrives a failure locally and on AWS.

``update_function_code`` gives a function new code while it runs, as Lambda's
``UpdateFunctionCode`` does: running invocations finish on their code, later ones start new
sandboxes on the new code, and every ``Outcome`` names the code version that ran
(``code_update``; ``s3flow local up --watch`` calls it).

Two seams for tests, neither of them AWS's: ``add_listener`` (more listeners of the
invocations' progress) and ``set_sandbox_start_hook`` (a function's new sandboxes run a hook
before importing its handler: ``sandbox.StartHook``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from s3flow.local.credentials import emulator_client
from s3flow.local.deployment import Deployment, FunctionSpec
from s3flow.local.emf_extraction import EmfExtractor
from s3flow.local.errors import FunctionNotFoundError
from s3flow.local.iam.enforcement import Authorizer
from s3flow.local.lambda_ import invoke_api
from s3flow.local.lambda_.code_update import CodeVersion, asset_sha
from s3flow.local.lambda_.destinations import QueueSender
from s3flow.local.lambda_.ephemeral_storage import EphemeralStorage
from s3flow.local.lambda_.function_queue import FunctionQueue
from s3flow.local.lambda_.invocation import (
    CONDITION_EVENT_AGE_EXCEEDED,
    CONDITION_RETRIES_EXHAUSTED,
    FunctionLog,
    Invocation,
    destination_record,
    function_segment,
    log_group_of,
    new_segment_id,
    report_lines,
    sandbox_environment,
)
from s3flow.local.lambda_.memory import MemoryWatchdog
from s3flow.local.lambda_.runtime_packages import runtime_packages_folder
from s3flow.local.lambda_.sandbox import Outcome, Sandbox, StartHook

log = logging.getLogger(__name__)

# Lambda's own delays before the first and second retry of an async invocation.
LAMBDA_RETRY_DELAYS: tuple[float, ...] = (60.0, 120.0)


class Listener:
    """What the runtime reports as invocations progress (the pipeline turns it into FlowEvents)."""

    def queued(self, invocation: Invocation) -> None: ...
    def succeeded(self, invocation: Invocation, outcome: Outcome) -> None: ...
    def retrying(self, invocation: Invocation, outcome: Outcome, delay: float) -> None: ...
    def failed(self, invocation: Invocation, condition: str) -> None: ...
    def logged(self, function_name: str, line: str) -> None: ...


class Listeners(Listener):
    """Tells each of its listeners, in the order they were added."""

    def __init__(self, *listeners: Listener) -> None:
        self.listeners = list(listeners)

    def queued(self, invocation: Invocation) -> None:
        for listener in list(self.listeners):
            listener.queued(invocation)

    def succeeded(self, invocation: Invocation, outcome: Outcome) -> None:
        for listener in list(self.listeners):
            listener.succeeded(invocation, outcome)

    def retrying(self, invocation: Invocation, outcome: Outcome, delay: float) -> None:
        for listener in list(self.listeners):
            listener.retrying(invocation, outcome, delay)

    def failed(self, invocation: Invocation, condition: str) -> None:
        for listener in list(self.listeners):
            listener.failed(invocation, condition)

    def logged(self, function_name: str, line: str) -> None:
        for listener in list(self.listeners):
            listener.logged(function_name, line)


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
        ca_bundle: str | None = None,
        authorizer: Authorizer | None = None,
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
        self.ca_bundle = ca_bundle  # the HTTPS emulator's CA, trusted by every sandbox
        # Lambda writes a function's logs with its role: evaluated when given, as on AWS (the
        # failure destination's grant is checked at provisioning, as Lambda checks it).
        self.authorizer = authorizer
        self.on_segment = on_segment
        self.listener = Listeners(listener or Listener())
        self._start_hooks: dict[str, StartHook] = {}
        self._overrides: dict[str, dict[str, str]] = {
            k: dict(v) for k, v in (environment_overrides or {}).items()
        }
        self._queues: dict[str, FunctionQueue] = {}
        # (function name, code folder) -> the version that code got: a revert to a folder run
        # before is a new version, as a new upload of old code is on AWS.
        self._code_versions: dict[tuple[str, str | None], CodeVersion] = {}
        self._code_lock = threading.Lock()
        # Async invocations accepted and not yet done (succeeded, or given up on): what a stop
        # loses, since the emulator keeps them in memory only.
        self._unfinished: dict[str, Invocation] = {}
        self._unfinished_lock = threading.Lock()
        self._queue_sender = QueueSender(endpoint_url)
        self.metrics = EmfExtractor(self._cloudwatch)
        self.memory_watchdog = MemoryWatchdog()  # kills a sandbox past its function's MemorySize

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        for name, spec in self.deployment.functions.items():
            self._code_versions[(name, spec.code_directory)] = CodeVersion(1, asset_sha(spec.code_directory))
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
        self.memory_watchdog.stop()

    def idle(self) -> bool:
        return all(queue.idle() for queue in self._queues.values())

    def unfinished(self) -> list[Invocation]:
        """Async invocations accepted and neither succeeded nor given up on, oldest first
        (after ``stop()``: those it dropped or cut short)."""
        with self._unfinished_lock:
            return sorted(self._unfinished.values(), key=lambda invocation: invocation.received_at)

    def _finished(self, invocation: Invocation) -> None:
        with self._unfinished_lock:
            self._unfinished.pop(invocation.request_id, None)

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

    def code_version(self, function_name: str) -> CodeVersion:
        """The version of the function's code new invocations run (``code_update``)."""
        spec = self.resolve(function_name)
        return self._version_of(spec)

    def _version_of(self, spec: FunctionSpec) -> CodeVersion:
        with self._code_lock:
            return self._code_versions.get(
                (spec.name, spec.code_directory), CodeVersion(1, asset_sha(spec.code_directory))
            )

    def update_function_code(
        self, function_name: str, code_directory: str, beneath: tuple[str, ...] = ()
    ) -> CodeVersion:
        """The function runs ``code_directory`` (over the folders ``beneath`` it on the import
        path) from its next invocation on, in new sandboxes; invocations running now finish on
        the code they started with (``code_update``)."""
        spec = self.resolve(function_name)
        running = self._version_of(spec)
        with self._code_lock:
            earlier = [version for (name, _), version in self._code_versions.items() if name == spec.name]
            version = max([running, *earlier], key=lambda known: known.number).next(code_directory)
            self._code_versions[(spec.name, code_directory)] = version
        updated = replace(spec, code_directory=code_directory, code_beneath=tuple(beneath))
        self.deployment.functions[spec.name] = updated
        if spec.name in self._queues:
            self._queues[spec.name].update_spec(updated)
        return version

    def add_listener(self, listener: Listener) -> None:
        """``listener`` is told of every invocation's progress from now on, after the others
        (``queued`` before the invocation enters its function's queue)."""
        self.listener.listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self.listener.listeners:
            self.listener.listeners.remove(listener)

    def set_sandbox_start_hook(self, function_name: str, hook: StartHook | None) -> None:
        """Test seam: the function's sandboxes run ``hook`` before importing its handler (None
        removes it), from its next attempt on (running sandboxes are replaced)."""
        spec = self.resolve(function_name)
        if hook is None:
            self._start_hooks.pop(spec.name, None)
        else:
            self._start_hooks[spec.name] = hook
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
        invoke_api.check_async_payload(spec.name, event)
        invocation = Invocation(function=spec, event=event)
        with self._unfinished_lock:
            self._unfinished[invocation.request_id] = invocation
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
        """A sandbox of ``spec``, with its memory watched and its own ``/tmp``."""
        storage = EphemeralStorage.create(spec.name, spec.ephemeral_storage_mb)
        try:
            return self._start_sandbox(spec, storage)
        except BaseException:
            storage.remove()
            raise

    def _start_sandbox(self, spec: FunctionSpec, storage: EphemeralStorage) -> Sandbox:
        environment = sandbox_environment(
            spec,
            region=self.deployment.region,
            endpoint_url=self.endpoint_url,
            xray_daemon_address=self.xray_daemon_address,
            overrides=self._overrides.get(spec.name),
            ca_bundle=self.ca_bundle,
            tmpdir=storage.path,
        )
        group = log_group_of(spec)
        stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        context_base: dict[str, Any] = {
            "function_name": spec.name,
            "function_version": "$LATEST",
            "invoked_function_arn": spec.arn,
            "memory_limit_in_mb": spec.memory_mb,
            "log_group_name": group,
            "log_stream_name": stream,
        }
        environment["AWS_LAMBDA_LOG_STREAM_NAME"] = stream
        log = FunctionLog(
            account=self.deployment.account,
            region=self.deployment.region,
            group=group,
            stream=stream,
            denied=self._logs_denied(spec, group, stream),
        )
        return Sandbox(
            spec.handler,
            environment,
            context_base,
            on_output=self._output_to(spec.name, log),
            start_hook=self._start_hooks.get(spec.name),
            import_path=self._import_path(spec),
            memory=(self.memory_watchdog, spec.memory_mb),
            ephemeral_storage=storage,
            code_version=str(self._version_of(spec)),
        )

    @staticmethod
    def _import_path(spec: FunctionSpec) -> list[str] | None:
        """The function's asset, then the packages Lambda's Python runtime includes: all its
        handler can import besides the standard library (``sandbox``)."""
        if spec.code_directory is None:
            return None  # a template provisioned without its assembly: the emulator's own path
        return [spec.code_directory, *spec.code_beneath, runtime_packages_folder()]

    def _output_to(self, function_name: str, function_log: FunctionLog) -> Callable[[str], None]:
        """Each output line goes to the log group, then (if it is EMF) becomes metrics, and the
        listeners hear of it (``local up`` shows warnings and errors as they happen)."""

        def output(line: str) -> None:
            function_log.write(line)
            self.metrics.handle(line)
            self.listener.logged(function_name, line)

        return output

    def attempt(self, invocation: Invocation, sandbox: Sandbox) -> Outcome | None:
        """Run one attempt, or None if the event is too old to be attempted."""
        if self._too_old(invocation):
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

    def start_failed(self, invocation: Invocation, error: Exception) -> Outcome | None:
        """The attempt whose sandbox could not start: a failed attempt with an init error, as
        Lambda fails an invocation whose execution environment cannot initialize
        (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html), then
        retried as any function error of an async invocation
        (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
        None if the event is too old to be attempted."""
        if self._too_old(invocation):
            return None
        invocation.attempts += 1
        now = time.time()
        outcome = Outcome(
            False,
            {
                "errorMessage": f"RequestId: {invocation.request_id} Error: Runtime failed to start: {error}",
                "errorType": "Runtime.ExitError",
                "requestId": invocation.request_id,
            },
            now,
            now,
            code_version=str(self.code_version(invocation.function.name)),
        )
        invocation.last = outcome
        return outcome

    @staticmethod
    def _too_old(invocation: Invocation) -> bool:
        age = time.time() - invocation.received_at
        return invocation.asynchronous and age > invocation.function.async_config.maximum_event_age_seconds

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
            self._finished(invocation)
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
        self._finished(invocation)  # given up on: kept in the failure destination, if any
        self.listener.failed(invocation, condition)
        destination = invocation.function.async_config.on_failure_arn
        if not destination:
            return  # dropped, as on AWS without a destination
        record = destination_record(invocation, condition)
        try:
            self._send_to_queue(destination, record)
        except Exception:
            log.exception("could not deliver a failed invocation to %s", destination)

    def _logs_denied(self, spec: FunctionSpec, group: str, stream: str) -> str | None:
        """Why Lambda may not write this sandbox's log stream with the function's role, if it
        may not: on AWS the function's logs are then lost
        (docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html#monitoring-cloudwatchlogs-prereqs)."""
        if self.authorizer is None or spec.role_arn is None:
            return None
        where = f"{self.deployment.region}:{self.deployment.account}"
        arn = f"arn:aws:logs:{where}:log-group:{group}:log-stream:{stream}"
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            denial = self.authorizer.role_may(spec.role_arn, action, arn, session_name=spec.name)
            if denial is not None:
                log.warning("%s: its logs are lost, as on AWS: %s", spec.name, denial.message)
                return denial.message
        return None

    def _send_to_queue(self, queue_arn: str, record: dict[str, Any]) -> None:
        self._queue_sender(queue_arn, record)

    def _cloudwatch(self) -> Any:
        return emulator_client("cloudwatch", endpoint_url=self.endpoint_url, region=self.deployment.region)

    def route(self, request: Request) -> Response | None:
        """Lambda's Invoke API for our functions (see ``invoke_api``)."""
        return invoke_api.route(self, request)
