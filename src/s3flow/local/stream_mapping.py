"""Lambda's event source mapping on a DynamoDB stream, locally: poll, filter, batch, invoke.

One ``StreamPoller`` per enabled ``StreamMapping`` of the deployment (a thread). It reads
every shard of the table's stream in moto, drops the records its ``FilterCriteria`` does
not match (they are skipped, never delivered), and invokes the function synchronously with
``{"Records": [...]}``: at most ``batch_size`` records, in shard order, one batch in flight
per shard. Records are shaped as Lambda delivers them (``eventSourceARN``, the table's
region, ``ApproximateCreationDateTime`` in epoch seconds). With a batching window
(``maximum_batching_window_seconds``), a read short of ``batch_size`` records is not invoked
at once: the poller reads on until the batch is full or the window, counted from the arrival
of the batch's first record, has passed (0: at once). Retries never wait for a window.

What follows an invocation is what AWS documents for stream sources:

- the function fails (exception, crash, timeout): the batch is retried after a short
  backoff (``retry_delays``: Lambda backs off exponentially; tests pass fractions of a
  second) up to ``maximum_retry_attempts`` times (-1: without end). With
  ``bisect_batch_on_function_error`` a failed batch of two or more records is split in two
  halves, each tried in turn; splitting does not use up retries.
- with ``report_batch_item_failures``, ``{"batchItemFailures": [{"itemIdentifier": seq}]}``
  checkpoints before the lowest reported sequence number and retries the rest of the batch
  from there (a retry like any other). An empty or missing list is success; an identifier
  that is empty or not in the batch fails the whole batch.
- retries exhausted, or a record older than ``maximum_record_age_seconds`` before an
  attempt: Lambda's on-failure record (``DDBStreamBatchInfo``: batch metadata, not the
  records) goes to the SQS destination, and the poller moves on.

A shard's checkpoint moves past a record as soon as it and every record before it are
taken (by an invocation that succeeded) or given up on, not when the whole read is settled:
a read after an error (an invocation never answered) starts at the first record not taken.

moto keeps every stream record (it trims nothing) and numbers a shard's records with
consecutive integers; the poller reads moto's in-process model directly, as the S3 hop
does: moto's ``GetRecords`` API would keep a new shard iterator in memory on every poll.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from moto.events.exceptions import InvalidEventPatternException
from moto.events.models import EventPattern

from s3flow.local.deployment import StreamMapping
from s3flow.local.lambda_worker import Outcome

log = logging.getLogger(__name__)

CONDITION_RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
CONDITION_RECORD_AGE_EXCEEDED = "RecordAgeExceeded"
# Seconds before each retry of a failed batch (the last one repeats).
STREAM_RETRY_DELAYS: tuple[float, ...] = (0.1, 0.2, 0.5)
# Seconds between two reads of a shard that had nothing new (Lambda: about 4 reads a second).
POLL_INTERVAL = 0.05


# --------------------------------------------------------------------------- filtering


def parse_filters(patterns: Sequence[str]) -> list[EventPattern]:
    """Each ``FilterCriteria`` pattern, parsed by moto's EventBridge pattern matcher (Lambda's
    event filtering uses EventBridge's syntax); ValueError naming a pattern it refuses."""
    parsed = []
    for pattern in patterns:
        try:
            loaded = EventPattern.load(pattern)
        except (InvalidEventPatternException, ValueError) as error:
            raise ValueError(f"filter pattern {pattern!r} is refused: {error}") from error
        unknown = sorted(_operators(loaded.get_pattern()) - _OPERATORS)
        if unknown:
            # moto would evaluate them as never matching; Lambda refuses the mapping.
            raise ValueError(f"filter pattern {pattern!r} uses unknown operators: {', '.join(unknown)}")
        other_keys = sorted(_top_level_keys(loaded.get_pattern()) - {"dynamodb"})
        if other_keys:
            # Lambda's guide: DynamoDB event source mappings filter only on the `dynamodb` key
            # (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html); a
            # pattern on eventName may match nothing there, so it is refused here, not guessed.
            raise ValueError(
                f"filter pattern {pattern!r} filters on {', '.join(other_keys)}: DynamoDB event "
                "source mappings filter only on the dynamodb key"
            )
        parsed.append(loaded)
    return parsed


def _top_level_keys(pattern: Mapping[str, Any]) -> set[str]:
    """The record keys a pattern filters on at its top level (``$or`` branches included)."""
    keys: set[str] = set()
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list):
            keys |= {name for branch in value if isinstance(branch, dict) for name in _top_level_keys(branch)}
        else:
            keys.add(key)
    return keys


_OPERATORS = {
    "prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists", "cidr", "wildcard",
}  # fmt: skip


def _operators(node: Any) -> set[str]:
    """The names of the matching operators used anywhere in a pattern (``$or`` branches included)."""
    if isinstance(node, list):
        return {name for member in node for name in _operators(member)}
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "$or":
            found |= _operators(value)
        elif isinstance(value, list):
            found |= {name for rule in value if isinstance(rule, dict) for name in rule}
        else:
            found |= _operators(value)
    return found


def passes(filters: Sequence[EventPattern], record: Mapping[str, Any]) -> bool:
    """No filters: every record; else a record matching any one of them."""
    return not filters or any(pattern.matches_event(dict(record)) for pattern in filters)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class StreamRecord:
    """One stream record as Lambda delivers it, with what the poller needs to order and age it."""

    sequence: int
    arrived: float  # epoch seconds, exact (the record's ApproximateCreationDateTime is rounded)
    body: dict[str, Any]

    @property
    def sequence_number(self) -> str:
        return str(self.body["dynamodb"]["SequenceNumber"])


class StreamReader(Protocol):
    def shards(self, stream_arn: str) -> list[str]: ...

    def last(self, stream_arn: str, shard_id: str) -> int | None:
        """The sequence number of the shard's newest record, None while it has none."""

    def read(self, stream_arn: str, shard_id: str, after: int | None, limit: int) -> list[StreamRecord]:
        """Up to ``limit`` records following sequence number ``after`` (None: the oldest)."""


def _epoch(moment: Any) -> float:
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return float(moment)


def shape(raw: Mapping[str, Any], *, stream_arn: str, region: str) -> StreamRecord:
    """moto's stream record as Lambda delivers it (a copy: moto's stays untouched)."""
    arrived = _epoch(raw["dynamodb"]["ApproximateCreationDateTime"])
    body = json.loads(json.dumps(raw, default=str))
    body["awsRegion"] = region  # moto writes us-east-1 whatever the table's region
    body["dynamodb"]["ApproximateCreationDateTime"] = int(arrived)
    body["eventSourceARN"] = stream_arn
    return StreamRecord(int(body["dynamodb"]["SequenceNumber"]), arrived, body)


class MotoStreamReader:
    """Reads the streams of this process's moto (the emulator behind the local server)."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region

    def _shard(self, stream_arn: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        table_name = stream_arn.split(":", 5)[5].split("/")[1]
        table = dynamodb_backends[self.account][self.region].get_table(table_name)
        if table.stream_shard is None:
            raise LookupError(f"table {table_name} has no stream")
        return table.stream_shard

    def shards(self, stream_arn: str) -> list[str]:
        return [self._shard(stream_arn).id]

    def last(self, stream_arn: str, shard_id: str) -> int | None:
        shard = self._shard(stream_arn)
        count = len(shard.items)
        return shard.starting_sequence_number + count - 1 if count else None

    def read(self, stream_arn: str, shard_id: str, after: int | None, limit: int) -> list[StreamRecord]:
        shard = self._shard(stream_arn)
        start = shard.starting_sequence_number if after is None else after + 1
        return [
            shape(raw, stream_arn=stream_arn, region=self.region)
            for raw in shard.get(start, limit)  # moto's StreamShard.get: from a sequence number
        ]


# --------------------------------------------------------------------------- failures


def _timestamp(moment: float, *, millis: bool) -> str:
    when = datetime.fromtimestamp(moment, UTC)
    if millis:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_record(
    mapping: StreamMapping,
    shard_id: str,
    records: Sequence[StreamRecord],
    *,
    condition: str,
    invoke_count: int,
    last: Outcome | None,
    now: float | None = None,
) -> dict[str, Any]:
    """The on-failure record Lambda sends for discarded stream records (metadata only)."""
    payload = last.payload if last is not None and isinstance(last.payload, dict) else {}
    record: dict[str, Any] = {
        "requestContext": {
            "requestId": str(payload.get("requestId") or uuid.uuid4()),
            "functionArn": mapping.function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
    }
    if last is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not last.ok:
            response["functionError"] = "Unhandled"
        record["responseContext"] = response
    record["version"] = "1.0"
    record["timestamp"] = _timestamp(time.time() if now is None else now, millis=True)
    record["DDBStreamBatchInfo"] = {
        "shardId": shard_id,
        "startSequenceNumber": records[0].sequence_number,
        "endSequenceNumber": records[-1].sequence_number,
        "approximateArrivalOfFirstRecord": _timestamp(records[0].arrived, millis=False),
        "approximateArrivalOfLastRecord": _timestamp(records[-1].arrived, millis=False),
        "batchSize": len(records),
        "streamArn": mapping.event_source_arn,
    }
    return record


def first_failure(payload: Any, records: Sequence[StreamRecord]) -> int | None:
    """Index of the first record to retry per a partial batch response (0: the whole batch);
    None if the response reports no failure."""
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if not failures:
        return None
    positions = {record.sequence_number: index for index, record in enumerate(records)}
    found = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in positions:
            return 0  # Lambda takes a malformed or unknown identifier as the whole batch failing
        found.append(positions[identifier])
    return min(found)


# --------------------------------------------------------------------------- polling


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

    def start(self) -> None:
        """Starts polling; LATEST begins after the records already in the stream."""
        arn = self.mapping.event_source_arn
        for shard in self.reader.shards(arn):
            at_end = self.mapping.starting_position == "LATEST"
            self._checkpoints[shard] = self.reader.last(arn, shard) if at_end else None
        self._thread = threading.Thread(
            target=self._run, name=f"stream-{self.mapping.logical_id}", daemon=True
        )
        self._thread.start()

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

    def start(self) -> None:
        for poller in self.pollers:
            poller.start()

    def request_stop(self) -> None:
        for poller in self.pollers:
            poller.request_stop()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        for poller in self.pollers:
            poller.stop(timeout)

    def idle(self) -> bool:
        return all(poller.idle() for poller in self.pollers)
