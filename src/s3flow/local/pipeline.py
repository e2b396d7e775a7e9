"""The whole pipeline on one machine: emulator, provisioned stack, Lambda hop, rules, traces.

``LocalPipeline`` starts moto in server mode on loopback behind our middleware, provisions
the synthesized template onto it, and wires the local runtime in: S3 object writes become
S3 events for the function's async invoker, the processor runs in worker processes,
``PutEvents`` is routed by the stack's rules, and spans reach the local trace store.

State lives in memory only, and moto's is global to the process: one pipeline runs per
process at a time, and starting one empties the emulator. moto 5.2.5's server has no
persistence of its own (no snapshot/restore API or state directory in ``moto/moto_server``;
only ``/moto-api/reset`` and the recorder, which replays raw requests): stopping the
pipeline discards everything.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from s3flow.local.deployment import Deployment
from s3flow.local.errors import CloudAssemblyMissingError, LocalError
from s3flow.local.eventbridge import Delivery, EventRouter
from s3flow.local.lambda_records import Invocation
from s3flow.local.lambda_runtime import LAMBDA_RETRY_DELAYS, LambdaRuntime, Listener
from s3flow.local.lambda_worker import Outcome
from s3flow.local.s3_hop import S3Hop
from s3flow.local.server import DEFAULT_PORT, LocalServer
from s3flow.local.traces import TraceStore

log = logging.getLogger(__name__)


class FlowKind(StrEnum):
    RECEIVED = "received"  # an S3 event was queued for the function
    RECORDED = "recorded"  # the function finished its invocation
    ROUTED = "routed"  # a rule delivered the object's event to the log group
    RETRYING = "retrying"  # an attempt failed; Lambda will try again
    FAILED = "failed"  # retries or event age exhausted: sent to the failure queue


@dataclass(frozen=True)
class FlowEvent:
    kind: FlowKind
    bucket: str
    key: str
    version_id: str | None
    detail: str = ""
    # The Lambda event the object travels in (received, recorded, retrying, failed).
    payload: Any = field(default=None, repr=False, compare=False)


def objects_in(event: Any) -> list[tuple[str, str, str | None]]:
    """(bucket, decoded key, version id) of each S3 record in a Lambda event."""
    found = []
    records = event.get("Records") if isinstance(event, dict) else None
    for record in records or ():
        s3 = record.get("s3") if isinstance(record, dict) else None
        if not isinstance(s3, dict):
            continue
        obj = s3.get("object") or {}
        found.append(
            (
                (s3.get("bucket") or {}).get("name", ""),
                urllib.parse.unquote_plus(obj.get("key", "")),
                obj.get("versionId"),
            )
        )
    return found


def _error_text(outcome: Outcome | None) -> str:
    payload = outcome.payload if outcome is not None and isinstance(outcome.payload, dict) else {}
    return f"{payload.get('errorType', 'Error')}: {payload.get('errorMessage', '')}".strip()


class _FlowReporter(Listener):
    def __init__(self, emit: Callable[[FlowEvent], None]) -> None:
        self.emit = emit

    def _each(self, invocation: Invocation, kind: FlowKind, detail: str) -> None:
        for bucket, key, version in objects_in(invocation.event) or [("", "", None)]:
            self.emit(FlowEvent(kind, bucket, key, version, detail, invocation.event))

    def queued(self, invocation: Invocation) -> None:
        self._each(invocation, FlowKind.RECEIVED, f"request {invocation.request_id}")

    def succeeded(self, invocation: Invocation, outcome: Outcome) -> None:
        payload = outcome.payload
        if isinstance(payload, dict):
            detail = ", ".join(f"{name} {value}" for name, value in payload.items())
        else:
            detail = ""
        self._each(invocation, FlowKind.RECORDED, detail)

    def retrying(self, invocation: Invocation, outcome: Outcome, delay: float) -> None:
        detail = f"attempt {invocation.attempts} failed ({_error_text(outcome)}); retry in {delay:g}s"
        self._each(invocation, FlowKind.RETRYING, detail)

    def failed(self, invocation: Invocation, condition: str) -> None:
        detail = f"{condition} after {invocation.attempts} attempt(s): {_error_text(invocation.last)}"
        self._each(invocation, FlowKind.FAILED, detail)


class LocalPipeline:
    """The stack from ``cloud_assembly`` running locally; see the module doc.

    ``retry_delays``: seconds before each async retry (Lambda: about 60 then 120; the last
    one repeats). ``environment_overrides``: per function name, variables laid over the
    template's environment (a test hook, e.g. to make the processor fail on purpose).
    """

    def __init__(
        self,
        cloud_assembly: Path,
        stack_name: str = "TapStackdev",
        *,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        region: str = "us-east-1",
        concurrency: int = 4,
        on_flow: Callable[[FlowEvent], None] | None = None,
        retry_delays: Sequence[float] = LAMBDA_RETRY_DELAYS,
        environment_overrides: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.cloud_assembly = Path(cloud_assembly)
        self.stack_name = stack_name
        self.region = region
        self.concurrency = concurrency
        self.on_flow = on_flow
        self.retry_delays = tuple(retry_delays)
        self.environment_overrides = environment_overrides
        self.server = LocalServer(host, port)
        self._deployment: Deployment | None = None
        self.runtime: LambdaRuntime | None = None
        self.traces: TraceStore | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    @property
    def deployment(self) -> Deployment:
        if self._deployment is None:
            raise LocalError("the local pipeline is not started")
        return self._deployment

    def start(self) -> None:
        from s3flow.local.provision import provision

        if not (self.cloud_assembly / f"{self.stack_name}.template.json").is_file():
            raise CloudAssemblyMissingError(self.cloud_assembly, self.stack_name)
        self.server.start()
        try:
            # moto's state is global to the process: a pipeline starts from an empty emulator.
            reset = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
            urllib.request.urlopen(reset, timeout=60).close()
            self._deployment = provision(
                self.cloud_assembly, self.stack_name, endpoint_url=self.endpoint_url, region=self.region
            )
            self.traces = TraceStore(
                endpoint_url=self.endpoint_url, region=self.region, host=self.server.host
            )
            self.traces.start()
            self.runtime = LambdaRuntime(
                self._deployment,
                endpoint_url=self.endpoint_url,
                concurrency=self.concurrency,
                retry_delays=self.retry_delays,
                xray_daemon_address=self.traces.address,
                on_segment=self.traces.put,
                listener=_FlowReporter(self._emit),
                environment_overrides=self.environment_overrides,
            )
            self.runtime.start()
            router = EventRouter(account=self._deployment.account, on_delivery=self._routed)
            self.server.middleware.routes.extend([self.runtime.route, router.route])
            self.server.middleware.observers.append(S3Hop(self._deployment, self.runtime.enqueue))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.server.middleware.routes.clear()
        self.server.middleware.observers.clear()
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None
        if self.traces is not None:
            self.traces.stop()
            self.traces = None
        self.server.stop()

    def __enter__(self) -> LocalPipeline:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- observing -----------------------------------------------------------------------

    def wait_idle(self, timeout: float) -> bool:
        """True once no invocation is queued, running or waiting for a retry, and every
        span sent to the trace store is stored (checked twice in a row, 50 ms apart)."""
        deadline = time.monotonic() + timeout
        calm = 0
        while calm < 2:
            if self.idle():
                calm += 1
            else:
                calm = 0
            if time.monotonic() >= deadline:
                return self.idle()
            time.sleep(0.05)
        return True

    def idle(self) -> bool:
        runtime, traces = self.runtime, self.traces
        return (runtime is None or runtime.idle()) and (traces is None or not traces.pending())

    def override_environment(self, function_name: str, overrides: Mapping[str, str] | None) -> None:
        """Test hook: change (or with None, clear) a function's extra environment from now on."""
        if self.runtime is None:
            raise LocalError("the local pipeline is not started")
        self.runtime.override_environment(function_name, overrides)

    def _emit(self, event: FlowEvent) -> None:
        if self.on_flow is None:
            return
        try:
            self.on_flow(event)
        except Exception:
            log.exception("on_flow callback failed")

    def _routed(self, delivery: Delivery) -> None:
        if ":logs:" not in delivery.target_arn:
            return
        detail = delivery.event.get("detail") or {}
        self._emit(
            FlowEvent(
                FlowKind.ROUTED,
                str(detail.get("bucketName", "")),
                str(detail.get("objectKey", "")),
                detail.get("versionId"),
                f"{delivery.event.get('detail-type', '')} via rule {delivery.rule_name}",
            )
        )
