"""Events older than the function's maximum event age on arrival, through a listener of the
local runtime (``LambdaRuntime.add_listener``), which sees each invocation before it is queued."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from s3flow.local import Invocation, Listener, objects_in
from s3flow.testing.faults.seeds import draw

if TYPE_CHECKING:
    from s3flow.local import LocalPipeline


class _AgingListener(Listener):
    """Ages a chosen invocation as it is queued (before any attempt)."""

    def __init__(self, fault: EventAgeExpiry) -> None:
        self.fault = fault

    def queued(self, invocation: Invocation) -> None:
        self.fault.maybe_expire(invocation)


class EventAgeExpiry:
    """Events of chosen objects reach the function's queue already older than its maximum
    event age (as after hours of throttling on AWS): Lambda drops them to the failure
    destination without an attempt. Only asynchronous invocations that carry S3 records."""

    name = "event-age"

    def __init__(self, *, seed: int, rate: float) -> None:
        self.seed, self.rate = seed, rate
        self.injected = 0
        self.active = False
        self._lock = threading.Lock()
        self._listener = _AgingListener(self)
        self.pipeline: LocalPipeline | None = None

    def install(self, pipeline: LocalPipeline) -> None:
        runtime = pipeline.runtime
        if runtime is None:
            raise RuntimeError("the local pipeline is not started")
        self.pipeline = pipeline
        runtime.add_listener(self._listener)
        self.active = True

    def clear(self) -> None:
        self.active = False
        runtime = self.pipeline.runtime if self.pipeline is not None else None
        if runtime is not None:
            runtime.remove_listener(self._listener)

    def expires(self, key: str) -> bool:
        """True if events carrying ``key`` are aged (the seed's choice)."""
        return draw(self.seed, self.name, key) < self.rate

    def maybe_expire(self, invocation: Invocation) -> None:
        if not self.active or not invocation.asynchronous:
            return
        if not any(self.expires(key) for _, key, _ in objects_in(invocation.event)):
            return
        invocation.received_at -= invocation.function.async_config.maximum_event_age_seconds + 1
        with self._lock:
            self.injected += 1
