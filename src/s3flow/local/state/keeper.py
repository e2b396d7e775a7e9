"""The state folder of one pipeline: checked before it starts, restored after provisioning,
saved while it runs and when it stops.

A save captures, in this order: the stream mappings' positions, S3, the pending asynchronous
invocations, DynamoDB (items and stream), SQS, Logs, CloudWatch, X-Ray. The order makes a save
taken while the pipeline runs hold together: an object in the saved bucket has its record in
the saved table or its invocation among the saved pending ones, and a saved position never
points past the saved stream. Each part is read from moto's model while requests may change
it; a part that changed under the read is read again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from s3flow.local.state import cloudwatch, dynamodb, logs, s3, sqs, xray
from s3flow.local.state.errors import StateError
from s3flow.local.state.files import StateFolder
from s3flow.local.state.positions import (
    PendingInvocation,
    Positions,
    export_pending,
    export_positions,
    import_pending,
    import_positions,
)

log = logging.getLogger(__name__)

# Seconds between two saves while the pipeline runs (a save that would write what the last
# one wrote writes nothing): a crash loses at most about this much.
AUTOSAVE_INTERVAL = 10.0

T = TypeVar("T")


@dataclass(frozen=True)
class StateSummary:
    """How much a state holds, for one line of output."""

    object_versions: int = 0
    items: int = 0
    messages: int = 0
    log_events: int = 0
    segments: int = 0
    pending: int = 0

    @classmethod
    def of(cls, document: dict[str, Any]) -> StateSummary:
        services = document.get("services", {})
        return cls(
            object_versions=sum(len(v) for v in services.get("s3", {}).values()),
            items=sum(len(t["items"]) for t in services.get("dynamodb", {}).values()),
            messages=sum(len(m) for m in services.get("sqs", {}).values()),
            log_events=sum(len(s["events"]) for g in services.get("logs", {}).values() for s in g.values()),
            segments=len(services.get("xray", [])),
            pending=len(document.get("pending", [])),
        )

    def describe(self) -> str:
        parts = [
            _count(self.object_versions, "object version"),
            _count(self.items, "item"),
            _count(self.messages, "queue message"),
            _count(self.log_events, "log event"),
            _count(self.segments, "trace segment"),
        ]
        if self.pending:
            parts.append(_count(self.pending, "invocation") + " to run again")
        return ", ".join(parts)


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


@dataclass(frozen=True)
class Restored:
    """What a restore gave back, for the pipeline to resume."""

    positions: Positions = field(default_factory=dict)
    pending: tuple[PendingInvocation, ...] = ()
    # What the state held that the running stack has no place for (not restored), in words.
    not_restored: tuple[str, ...] = ()
    summary: StateSummary = StateSummary()
    saved_at: float | None = None


def _read_again(read: Callable[[], T], attempts: int = 5) -> T:
    """``read()``, again if a model changed size under it (a request changed it meanwhile)."""
    for attempt in range(attempts):
        try:
            return read()
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.01)
    raise AssertionError("unreachable")


class StateKeeper:
    """Keeps one pipeline's state in ``path``; see the module doc."""

    def __init__(
        self, path: Path, *, stack_name: str, region: str, interval: float = AUTOSAVE_INTERVAL
    ) -> None:
        self.folder = StateFolder(path)
        self.stack_name = stack_name
        self.region = region
        self.interval = interval
        self.ready = False  # set by ``begin``: from then on saves may replace the folder's state
        self._document: dict[str, Any] | None = None
        self._last_digest: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> Path:
        return self.folder.path

    def open(self) -> StateSummary | None:
        """Reads and checks the saved state before anything starts; None if there is none yet."""
        self.folder.lock()
        document = self.folder.read()
        if document is not None:
            stack, region = document.get("stack"), document.get("region")
            if stack != self.stack_name or region != self.region:
                raise StateError(
                    f"{self.path} holds the state of {stack} in {region}, not {self.stack_name} in"
                    f" {self.region}: use another folder for this stack"
                )
        self._document = document
        return StateSummary.of(document) if document is not None else None

    def restore(self, account: str) -> Restored:
        """Puts the state read by ``open`` back into the emulator (after provisioning, before
        anything that reacts to S3, DynamoDB or SQS runs)."""
        document = self._document
        if document is None:
            return Restored()
        if document.get("account") != account:
            raise StateError(
                f"{self.path} holds the state of account {document.get('account')}, not {account}"
            )
        services = document.get("services", {})
        region = self.region
        try:
            missing = [
                *s3.restore(account, region, services.get("s3", {}), self.folder),
                *dynamodb.restore(account, region, services.get("dynamodb", {})),
                *sqs.restore(account, region, services.get("sqs", {})),
                *logs.restore(account, region, services.get("logs", {})),
                *cloudwatch.restore(account, region, services.get("cloudwatch", {})),
                *xray.restore(account, region, services.get("xray", [])),
            ]
            positions = import_positions(document.get("positions", {}))
            pending = tuple(import_pending(document.get("pending", [])))
        except StateError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise StateError(f"{self.folder.document} is damaged: {type(error).__name__}: {error}") from None
        self._last_digest = _digest(document)
        return Restored(
            positions, pending, tuple(missing), StateSummary.of(document), document.get("saved_at")
        )

    def begin(self) -> None:
        """The pipeline started whole on what ``restore`` put back: from now on a save may
        replace what the folder held. (A start that fails before this saves nothing, so a
        partly started pipeline never writes its partial state over the folder's.)"""
        self.ready = True

    def close(self) -> None:
        """Lets another pipeline use the folder (after the last save)."""
        self.stop_autosave()
        self.folder.unlock()

    def capture(
        self, account: str, positions: Callable[[], Positions], pending: Callable[[], list[PendingInvocation]]
    ) -> dict[str, Any]:
        """The emulator's state now, as a document (object bodies are written on the way)."""
        region = self.region
        saved_positions = export_positions(positions())
        s3_part = _read_again(lambda: s3.export(account, self.folder))
        saved_pending = export_pending(pending())
        services = {
            "s3": s3_part,
            "dynamodb": _read_again(lambda: dynamodb.export(account, region)),
            "sqs": _read_again(lambda: sqs.export(account, region)),
            "logs": _read_again(lambda: logs.export(account, region)),
            "cloudwatch": _read_again(lambda: cloudwatch.export(account, region)),
            "xray": _read_again(lambda: xray.export(account, region)),
        }
        return {
            "stack": self.stack_name,
            "account": account,
            "region": region,
            "services": services,
            "positions": saved_positions,
            "pending": saved_pending,
        }

    def save(
        self, account: str, positions: Callable[[], Positions], pending: Callable[[], list[PendingInvocation]]
    ) -> StateSummary:
        """Captures and writes the state (unless it is what the last save wrote)."""
        if not self.ready:
            raise StateError(f"the state in {self.path} was not restored whole: not saving over it")
        with self._lock:
            document = self.capture(account, positions, pending)
            digest = _digest(document)
            if digest != self._last_digest:
                self.folder.write({**document, "saved_at": time.time()})
                self.folder.remove_bodies_except(_bodies(document))
                self._last_digest = digest
        return StateSummary.of(document)

    def start_autosave(
        self, account: str, positions: Callable[[], Positions], pending: Callable[[], list[PendingInvocation]]
    ) -> None:
        def run() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.save(account, positions, pending)
                except Exception:
                    log.warning("could not save the state to %s", self.path, exc_info=True)

        self._stop.clear()
        self._thread = threading.Thread(target=run, name="state-autosave", daemon=True)
        self._thread.start()

    def stop_autosave(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None


def _digest(document: dict[str, Any]) -> str:
    content = {
        name: value for name, value in document.items() if name not in ("saved_at", "format", "version")
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def _bodies(document: dict[str, Any]) -> set[str]:
    return {
        version["body"]
        for versions in document["services"]["s3"].values()
        for version in versions
        if "body" in version
    }
