"""Polling one mapping's stream: batching (and its window), invoking, retries, bisection,
partial batch responses, checkpoints and the failure destination (see the package doc).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any

from s3flow.local.deployment import StreamMapping
from s3flow.local.event_sources.dynamodb_stream.failures import (
    CONDITION_RECORD_AGE_EXCEEDED,
    CONDITION_RETRIES_EXHAUSTED,
    failure_record,
    first_failure,
)
from s3flow.local.event_sources.dynamodb_stream.filters import parse_filters, passes
from s3flow.local.event_sources.dynamodb_stream.reader import StreamReader, StreamRecord
from s3flow.local.lambda_.sandbox import Outcome

log = logging.getLogger(__name__)

# Seconds before each retry of a failed batch (the last one repeats).
STREAM_RETRY_DELAYS: tuple[float, ...] = (0.1, 0.2, 0.5)
# Seconds between two reads of a shard that had nothing new (Lambda: about 4 reads a second).
POLL_INTERVAL = 0.05


class MappingListener:
    """What the pollers report (the pipeline turns it into FlowEvents)."""

    def delivered(self, mapping: StreamMapping, records: Sequence[dict[str, Any]]) -> None:
        """The function took these records (its invocation succeeded and did not report them)."""

    def discarded(
        self, mapping: StreamMapping, records: Sequence[dict[str, Any]], condition: str, detail: str
    ) -> None:
        """These records were given up on (and described to the on-failure destination)."""


# A synchronous invocation: function name or ARN, event -> outcome (LambdaRuntime.invoke).
Invoke = Callable[[str, Any], Outcome]
# Sends an on-failure record to the queue with this ARN.
SendToQueue = Callable[[str, Mapping[str, Any]], None]


@dataclass
class _ReadProgress:
    """The records of one read not yet settled (taken or given up on), in shard order."""

    unsettled: deque[int]  # sequence numbers, ascending
    settled: set[int]

    @classmethod
    def of(cls, records: Sequence[StreamRecord]) -> _ReadProgress:
        return cls(deque(record.sequence for record in records), set())

    def settle(self, records: Sequence[StreamRecord]) -> int | None:
        """The last record of the settled head of the read, None if the head is not settled."""
        self.settled.update(record.sequence for record in records)
        last = None
        while self.unsettled and self.unsettled[0] in self.settled:
            last = self.unsettled.popleft()
        return last


@dataclass
class _Batch:
    records: list[StreamRecord]
    invokes: int = 0  # invocations that held these records
    retries: int = 0  # retries used (bisecting uses none)
    last: Outcome | None = None


def _error_text(outcome: Outcome | None) -> str:
    payload = outcome.payload if outcome is not None and isinstance(outcome.payload, dict) else {}
    if outcome is not None and outcome.ok:
        return "the function reported batch item failures"
    return f"{payload.get('errorType', 'Error')}: {payload.get('errorMessage', '')}".strip()


class StreamPoller:
    """Polls one mapping's stream and invokes its function; see the module doc."""

    def __init__(
        self,
        mapping: StreamMapping,
        *,
        invoke: Invoke,
        reader: StreamReader,
        send_to_queue: SendToQueue,
        retry_delays: Sequence[float] = STREAM_RETRY_DELAYS,
        poll_interval: float = POLL_INTERVAL,
        listener: MappingListener | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not retry_delays:
            raise ValueError("retry_delays needs at least one delay")
        if mapping.batch_size < 1:
            raise ValueError(f"batch size {mapping.batch_size} of mapping {mapping.logical_id}")
        self.mapping = mapping
        self.filters = parse_filters(mapping.filter_patterns)
        self.invoke = invoke
        self.reader = reader
        self.send_to_queue = send_to_queue
        self.retry_delays = tuple(retry_delays)
        self.poll_interval = poll_interval
        self.listener = listener or MappingListener()
        self.clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._busy = False  # records read and not yet checkpointed
        self._checkpoints: dict[str, int | None] = {}  # shard -> last sequence number done
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, checkpoints: Mapping[str, int | None] | None = None) -> None:
        """Starts polling; LATEST begins after the records already in the stream.
        ``checkpoints`` (an earlier poller's ``checkpoints()`` for this mapping, e.g. from a
        saved state) resume where that poller was instead, for the shards they name: the
        records it had taken or given up on are not delivered again, the others are."""
        arn = self.mapping.event_source_arn
        for shard in self.reader.shards(arn):
            if checkpoints is not None and shard in checkpoints:
                self._checkpoints[shard] = checkpoints[shard]
                continue
            at_end = self.mapping.starting_position == "LATEST"
            self._checkpoints[shard] = self.reader.last(arn, shard) if at_end else None
        self._thread = threading.Thread(
            target=self._run, name=f"stream-{self.mapping.logical_id}", daemon=True
        )
        self._thread.start()

    def checkpoints(self) -> dict[str, int | None]:
        """Per shard, the sequence number of the last record taken or given up on, with every
        record before it (None: none yet); what ``start`` resumes from."""
        with self._lock:
            return dict(self._checkpoints)

    def request_stop(self) -> None:
        """No further invocation starts; the one in flight, if any, is neither retried nor discarded."""
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def idle(self) -> bool:
        """True when nothing is in flight and every shard is read to its end."""
        with self._lock:
            if self._busy:
                return False
            checkpoints = dict(self._checkpoints)
        arn = self.mapping.event_source_arn
        try:
            for shard in self.reader.shards(arn):
                last = self.reader.last(arn, shard)
                done = checkpoints.get(shard)
                if last is not None and (done is None or done < last):
                    return False
        except Exception:  # a stream that cannot be read has nothing left to deliver
            log.debug("stream %s unreadable", arn, exc_info=True)
        return True

    # -- polling -------------------------------------------------------------------------

    def _run(self) -> None:
        last_error = ""
        while not self._stop.is_set():
            try:
                progressed = self.poll_once()
                last_error = ""
            except Exception as error:
                # Logged once while it repeats (e.g. the emulator was reset under the poller).
                if repr(error) != last_error:
                    log.exception("stream poller %s failed; polling again", self.mapping.logical_id)
                last_error = repr(error)
                progressed = False
            if not progressed:
                self._stop.wait(self.poll_interval)

    def poll_once(self) -> bool:
        """One read (and delivery) per shard; True if any shard had records."""
        arn = self.mapping.event_source_arn
        progressed = False
        for shard in self.reader.shards(arn):
            if self._stop.is_set():
                break
            with self._lock:
                self._busy = True
                after = self._checkpoints.get(shard)
            try:
                records = self.reader.read(arn, shard, after, self.mapping.batch_size)
                if not records:
                    continue
                progressed = True
                records = self._gather(arn, shard, records)
                batch = [record for record in records if passes(self.filters, record.body)]
                if batch:
                    self._deliver(shard, batch)
                if self._stop.is_set():
                    break  # cut short: the batch is neither done nor given up
                with self._lock:
                    self._checkpoints[shard] = records[-1].sequence
            finally:
                with self._lock:
                    self._busy = False
        return progressed

    def _gather(self, arn: str, shard: str, records: list[StreamRecord]) -> list[StreamRecord]:
        """Lambda's batching window: reads on until the records fill a batch, the window
        since the first one arrived passes, or the poller stops."""
        window = self.mapping.maximum_batching_window_seconds
        if window <= 0:
            return records
        size = self.mapping.batch_size
        gathered = list(records)
        while len(gathered) < size and not self._stop.is_set():
            remaining = gathered[0].arrived + window - self.clock()
            if remaining <= 0:
                break
            self._stop.wait(min(self.poll_interval, remaining))
            gathered += self.reader.read(arn, shard, gathered[-1].sequence, size - len(gathered))
        return gathered

    def _deliver(self, shard: str, records: list[StreamRecord]) -> None:
        """Invokes until every record is delivered or discarded (or the poller stops)."""
        mapping = self.mapping
        progress = _ReadProgress.of(records)
        pending: deque[_Batch] = deque([_Batch(records)])
        while pending and not self._stop.is_set():
            fresh = self._without_expired(shard, progress, pending.popleft())
            if fresh is None:
                continue
            batch = fresh
            try:
                outcome = self.invoke(mapping.function_arn, {"Records": [r.body for r in batch.records]})
            except CancelledError:  # the runtime stopped before running it: so does the poller
                self._stop.set()
                return
            if self._stop.is_set():
                return  # cut short by stop(): neither retried nor discarded
            batch.invokes += 1
            batch.last = outcome
            if outcome.ok:
                failed_from = (
                    first_failure(outcome.payload, batch.records)
                    if mapping.report_batch_item_failures
                    else None
                )
                if failed_from is None:
                    self._delivered(shard, progress, batch.records)
                    continue
                self._delivered(shard, progress, batch.records[:failed_from])
                batch.records = batch.records[failed_from:]
            elif mapping.bisect_batch_on_function_error and len(batch.records) > 1:
                middle = len(batch.records) // 2
                for half in (batch.records[middle:], batch.records[:middle]):
                    pending.appendleft(_Batch(half, batch.invokes, batch.retries, outcome))
                continue
            if 0 <= mapping.maximum_retry_attempts <= batch.retries:
                self._discard(shard, progress, batch, CONDITION_RETRIES_EXHAUSTED)
                continue
            delay = self.retry_delays[min(batch.retries, len(self.retry_delays) - 1)]
            batch.retries += 1
            pending.appendleft(batch)
            self._stop.wait(delay)

    def _without_expired(self, shard: str, progress: _ReadProgress, batch: _Batch) -> _Batch | None:
        """Discards the records too old to be tried; the rest, or None if none is left."""
        limit = self.mapping.maximum_record_age_seconds
        if limit < 0:
            return batch
        now = self.clock()
        fresh = [record for record in batch.records if now - record.arrived <= limit]
        expired = [record for record in batch.records if now - record.arrived > limit]
        if expired:
            self._discard(
                shard,
                progress,
                _Batch(expired, batch.invokes, batch.retries, batch.last),
                CONDITION_RECORD_AGE_EXCEEDED,
            )
        if not fresh:
            return None
        batch.records = fresh
        return batch

    def _settle(self, shard: str, progress: _ReadProgress, records: Sequence[StreamRecord]) -> None:
        """Checkpoints each record as soon as it and those before it are taken or given up on:
        Lambda never hands a record again once an invocation took it, and a retry starts at
        the first record not taken (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html),
        even if the poller's next step fails (an invocation never answered) and it reads again."""
        last = progress.settle(records)
        if last is not None:
            with self._lock:
                self._checkpoints[shard] = last

    def _delivered(self, shard: str, progress: _ReadProgress, records: Sequence[StreamRecord]) -> None:
        if not records:
            return
        self._settle(shard, progress, records)
        try:
            self.listener.delivered(self.mapping, [record.body for record in records])
        except Exception:
            log.exception("stream listener failed")

    def _discard(self, shard: str, progress: _ReadProgress, batch: _Batch, condition: str) -> None:
        self._settle(shard, progress, batch.records)
        detail = f"{condition} after {batch.invokes} invocation(s)"
        if batch.last is not None:
            detail += f": {_error_text(batch.last)}"
        try:
            self.listener.discarded(
                self.mapping, [record.body for record in batch.records], condition, detail
            )
        except Exception:
            log.exception("stream listener failed")
        destination = self.mapping.on_failure_arn
        if not destination:
            return  # dropped, as on AWS without a destination
        message = failure_record(
            self.mapping,
            shard,
            batch.records,
            condition=condition,
            invoke_count=batch.invokes,
            last=batch.last,
        )
        try:
            self.send_to_queue(destination, message)
        except Exception:
            log.exception("could not send discarded stream records to %s", destination)


class StreamPollers:
    """The pollers of every enabled stream mapping of a deployment."""

    def __init__(self, pollers: Sequence[StreamPoller]) -> None:
        self.pollers = list(pollers)

    @classmethod
    def for_mappings(cls, mappings: Sequence[StreamMapping], **options: Any) -> StreamPollers:
        """One poller per enabled mapping; ``options`` are ``StreamPoller``'s keyword arguments."""
        return cls([StreamPoller(mapping, **options) for mapping in mappings if mapping.enabled])

    def start(self, positions: Mapping[str, Mapping[str, int | None]] | None = None) -> None:
        """Starts every poller; ``positions`` (``positions()`` of earlier pollers) resume each
        mapping they name where it was."""
        for poller in self.pollers:
            poller.start((positions or {}).get(poller.mapping.logical_id))

    def positions(self) -> dict[str, dict[str, int | None]]:
        """Per mapping (logical id), its poller's ``checkpoints()``."""
        return {poller.mapping.logical_id: poller.checkpoints() for poller in self.pollers}

    def request_stop(self) -> None:
        for poller in self.pollers:
            poller.request_stop()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        for poller in self.pollers:
            poller.stop(timeout)

    def idle(self) -> bool:
        return all(poller.idle() for poller in self.pollers)
