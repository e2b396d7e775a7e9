"""One function's queue of invocations and its sandboxes (the function's concurrency).

Each of the queue's slots takes the next invocation that is due, runs it in its sandbox
(started on first use, replaced once it dies, times out, goes past its function's memory, or
its environment, start hook or code changed: the next invocation is then a cold start, with an
empty ``/tmp``) and hands the outcome back to the runtime, which decides what follows.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Protocol

from s3flow.local.deployment import FunctionSpec
from s3flow.local.lambda_.invocation import Invocation
from s3flow.local.lambda_.sandbox import Outcome, Sandbox

log = logging.getLogger(__name__)


class Attempts(Protocol):
    """What a queue needs of the Lambda runtime, which satisfies it (and creates the queues:
    a Protocol here, not the runtime's class, keeps that one-way)."""

    def new_sandbox(self, spec: FunctionSpec) -> Sandbox: ...

    def attempt(self, invocation: Invocation, sandbox: Sandbox) -> Outcome | None: ...

    def start_failed(self, invocation: Invocation, error: Exception) -> Outcome | None: ...

    def settle(self, invocation: Invocation, outcome: Outcome | None, queue: FunctionQueue) -> None: ...


class FunctionQueue:
    """One function's queue of invocations and its sandboxes."""

    def __init__(self, runtime: Attempts, spec: FunctionSpec, concurrency: int) -> None:
        self.runtime = runtime
        self.spec = spec
        self._heap: list[tuple[float, int, Invocation]] = []
        self._order = itertools.count()
        self._running = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._generation = 0  # bumped when the environment override, start hook or code changes
        self._sandboxes: set[Sandbox] = set()
        self._threads = [
            threading.Thread(target=self._slot, name=f"lambda-{spec.name}-{i}", daemon=True)
            for i in range(concurrency)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, invocation: Invocation, delay: float = 0.0) -> None:
        with self._cond:
            if self._stopping:  # dropped, as stop() drops what is queued
                if invocation.result is not None:
                    invocation.result.cancel()
                return
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._order), invocation))
            self._cond.notify()

    def idle(self) -> bool:
        with self._cond:
            return not self._heap and self._running == 0

    def renew_sandboxes(self) -> None:
        with self._cond:
            self._generation += 1

    def update_spec(self, spec: FunctionSpec) -> None:
        """The function's new code or settings: each sandbox finishes the invocation it runs,
        then is retired; the next invocation of each slot starts a sandbox of ``spec``."""
        with self._cond:
            self.spec = spec
            self._generation += 1

    def stop(self) -> None:
        """Stops the slots; running invocations are cut short and queued ones dropped (a
        synchronous caller waiting for a dropped one gets ``CancelledError``)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            sandboxes = list(self._sandboxes)
            for _, _, invocation in self._heap:
                if invocation.result is not None:
                    invocation.result.cancel()
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
                    with self._cond:  # the spec and its generation together (``update_spec``)
                        generation, spec = self._generation, self.spec
                    try:
                        sandbox = self.runtime.new_sandbox(spec)
                    except Exception as error:
                        log.exception("could not start a sandbox of %s", self.spec.name)
                        self.runtime.settle(invocation, self.runtime.start_failed(invocation, error), self)
                        continue
                    with self._cond:
                        self._sandboxes.add(sandbox)
                        stopping = self._stopping
                    if stopping:  # stop() came while this sandbox started: it never saw it
                        if invocation.result is not None:
                            invocation.result.cancel()
                        self._retire(sandbox)
                        sandbox = None
                        break
                outcome = self.runtime.attempt(invocation, sandbox)
                if not sandbox.alive():
                    self._retire(sandbox)  # died or was killed on timeout: replaced on next use
                    sandbox = None
                self.runtime.settle(invocation, outcome, self)
            except Exception:
                if self._stopping:  # stop() killed the sandbox under it: a broken pipe, no fault
                    log.debug("invocation %s cut short by stop", invocation.request_id, exc_info=True)
                else:
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
