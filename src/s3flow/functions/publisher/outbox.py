"""The outbox's publishing side: which table stream records become events, and what to retry; no I/O.

The processor only writes records; the table's stream (``contract.STREAM_VIEW_TYPE``) shows
each write to the publisher function, which publishes:
- INSERT: the event of the new record;
- MODIFY: the event of the new image, only when its ``status`` changed (a step error that a
  redelivery retried to success); a rewrite that keeps the status announces nothing new;
- anything else (REMOVE: TTL or manual deletes): nothing.

Entries go out in stream order, chunk by chunk (``deliver``), several chunks at once when the
handler allows it. When some still fail after the adapter's retries, the handler reports the
earliest failed record's sequence number as the batch item failure: Lambda then retries the
shard from that record, and everything before it counts as done.
"""

from __future__ import annotations

import contextvars
import decimal
import json
from collections import OrderedDict
from collections.abc import Callable, Container, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from s3flow import contract
from s3flow.functions.shared.dynamodb_json import from_dynamo
from s3flow.functions.shared.entries import (
    MAX_ENTRIES_PER_CALL,
    MAX_REQUEST_BYTES,
    chunk_entries,
    entry_for,
    fits,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from s3flow.functions.publisher.delivery import PublishReport

Send = Callable[[list[dict[str, Any]]], "PublishReport"]

INSERT = "INSERT"
MODIFY = "MODIFY"
TRACE_ATTRIBUTE = "xrayTraceId"
# PutEventsRequestEntry.TraceHeader is 1-500 characters; a longer one fails the whole request.
TRACE_HEADER_MAX_LENGTH = 500
# Error code of entries left unsent because an earlier chunk still failed.
NOT_ATTEMPTED = "NotAttempted"
# What TypeDeserializer and entry_for raise for images that are not DynamoDB JSON of our items.
_UNDECODABLE = (TypeError, ValueError, KeyError, AttributeError, decimal.DecimalException)


@dataclass(frozen=True)
class StreamRecord:
    """One DynamoDB stream record as Lambda delivers it; images stay in DynamoDB JSON."""

    position: int  # index in the batch: stream order within the shard
    event_id: str  # the stream record's eventID: unique per record
    event_name: str
    sequence_number: str | None
    keys: Mapping[str, Any]
    new_image: Any
    old_image: Any

    @classmethod
    def from_raw(cls, position: int, raw: Any) -> StreamRecord:
        raw = raw if isinstance(raw, dict) else {}
        body = raw.get("dynamodb") if isinstance(raw.get("dynamodb"), dict) else {}
        keys = body.get("Keys")
        return cls(
            position=position,
            event_id=str(raw.get("eventID") or ""),
            event_name=str(raw.get("eventName") or ""),
            sequence_number=body.get("SequenceNumber"),
            keys=keys if isinstance(keys, dict) else {},
            new_image=body.get("NewImage"),
            old_image=body.get("OldImage"),
        )


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def parse_stream_event(event: Any) -> list[StreamRecord]:
    raw_records = event.get("Records") if isinstance(event, dict) else None
    return [StreamRecord.from_raw(position, raw) for position, raw in enumerate(raw_records or ())]


@dataclass(frozen=True)
class Outgoing:
    """A record whose event is to be published, with its entry (``TraceHeader`` included)."""

    record: StreamRecord
    item: dict[str, Any]
    entry: dict[str, Any]


@dataclass(frozen=True)
class Skipped:
    record: StreamRecord
    reason: str


@dataclass(frozen=True)
class Unpublishable:
    record: StreamRecord
    reason: str


@dataclass
class Plan:
    outgoing: list[Outgoing] = field(default_factory=list)  # in stream order
    skipped: list[Skipped] = field(default_factory=list)
    unpublishable: list[Unpublishable] = field(default_factory=list)


def entry_with_trace(item: dict[str, Any], *, event_bus_name: str) -> dict[str, Any]:
    """The processor's entry for the item; its ``xrayTraceId`` continues the processor's trace.

    A trace id EventBridge would refuse is left out: the request would fail on every retry and
    hold up the shard, for the sake of a trace link.
    """
    entry = entry_for(item, event_bus_name=event_bus_name)
    trace_header = item.get(TRACE_ATTRIBUTE)
    if isinstance(trace_header, str) and 0 < len(trace_header) <= TRACE_HEADER_MAX_LENGTH:
        entry["TraceHeader"] = trace_header
    return entry


def select(
    record: StreamRecord, *, event_bus_name: str, max_entry_bytes: int = MAX_REQUEST_BYTES
) -> Outgoing | Skipped | Unpublishable:
    """What to do with one stream record."""
    if record.event_name not in (INSERT, MODIFY):
        return Skipped(record, f"{record.event_name or 'unnamed'} record")
    if not isinstance(record.new_image, dict) or not record.new_image:
        return Unpublishable(record, f"{record.event_name} record without NewImage")
    if record.event_name == MODIFY and (not isinstance(record.old_image, dict) or not record.old_image):
        # With NEW_AND_OLD_IMAGES every MODIFY has both; without OldImage the stream's view
        # type is wrong and we cannot tell a status change from a rewrite.
        return Unpublishable(record, "MODIFY record without OldImage: is the view type NEW_AND_OLD_IMAGES?")
    try:
        item = from_dynamo(record.new_image)
        if record.event_name == MODIFY and from_dynamo(record.old_image).get("status") == item.get("status"):
            return Skipped(record, "MODIFY record without a status change")
        entry = entry_with_trace(item, event_bus_name=event_bus_name)
        # EventBridge refuses NaN/Infinity (not JSON) for good: such an entry would block the shard.
        json.loads(entry["Detail"], parse_constant=_refuse)
    except _UNDECODABLE as error:
        return Unpublishable(record, f"image cannot be decoded: {type(error).__name__}: {error}")
    if not fits(entry, max_entry_bytes):
        # The processor checks the size before it writes; guarded anyway, as chunking refuses it.
        return Unpublishable(record, f"event entry over the {max_entry_bytes}-byte limit")
    if not record.sequence_number:
        return Unpublishable(record, "record without SequenceNumber: it could not be retried from")
    return Outgoing(record, item, entry)


def plan(
    records: Sequence[StreamRecord],
    *,
    event_bus_name: str,
    max_entry_bytes: int = MAX_REQUEST_BYTES,
    already_published: Container[str] = (),
) -> Plan:
    """``already_published``: event ids of records this container has published or kept."""
    result = Plan()
    for record in records:
        decision: Outgoing | Skipped | Unpublishable
        if record.event_id and record.event_id in already_published:
            decision = Skipped(record, "already published or kept by this container (a retried batch)")
        else:
            decision = select(record, event_bus_name=event_bus_name, max_entry_bytes=max_entry_bytes)
        if isinstance(decision, Outgoing):
            result.outgoing.append(decision)
        elif isinstance(decision, Skipped):
            result.skipped.append(decision)
        else:
            result.unpublishable.append(decision)
    return result


@dataclass
class Delivery:
    published: list[int] = field(default_factory=list)  # indexes into the entries given
    failed: dict[int, str] = field(default_factory=dict)  # index -> error code
    calls: int = 0


def deliver(
    entries: Sequence[dict[str, Any]],
    send: Send,
    *,
    max_entries: int = MAX_ENTRIES_PER_CALL,
    max_bytes: int = MAX_REQUEST_BYTES,
    concurrency: int = 1,
    threads: Callable[[], Executor] | None = None,
    items: Sequence[Hashable] | None = None,
) -> Delivery:
    """Send the entries chunk by chunk in order; start no chunk after one still fails.

    ``send`` publishes one chunk with its own retries (``publisher.publish``). Once a chunk
    still has failures, Lambda will retry the shard from its earliest failed record, so every
    later record is sent again then anyway: sending later chunks now would only add duplicates
    (and after a throttled or failed call, more calls are likely to fail too). They are
    reported failed with ``NOT_ATTEMPTED``.

    With ``concurrency`` above 1 and more than one chunk, up to that many chunks are in flight
    at once on ``threads()`` (asked for only then), each started in order and in this
    thread's context (logs, trace). The chunks already in flight when one fails still finish:
    what they published is accepted *behind* the failure (``accepted_behind``), which the
    caller must keep from being sent again. ``items`` (one per entry: the item it announces)
    keeps an item's entries in stream order: a chunk holding an item waits until the call of
    the chunk before it holding the same item has returned.
    """
    chunks = chunk_entries(entries, max_entries=max_entries, max_bytes=max_bytes)
    if concurrency > 1 and len(chunks) > 1 and threads is not None:
        reports = _send_at_once(entries, chunks, send, threads(), concurrency, _waits_for(chunks, items))
    else:
        reports = _send_in_turn(entries, chunks, send)
    delivery = Delivery()
    for number, chunk in enumerate(chunks):
        report = reports.get(number)
        if report is None:  # not started: a chunk before it failed
            delivery.failed.update(dict.fromkeys(chunk, NOT_ATTEMPTED))
            continue
        delivery.calls += report.calls
        delivery.published.extend(chunk[position] for position in report.published)
        delivery.failed.update({chunk[position]: code for position, code in report.failed.items()})
    return delivery


def _send_in_turn(
    entries: Sequence[dict[str, Any]], chunks: list[list[int]], send: Send
) -> dict[int, PublishReport]:
    """Each chunk's report by its number, one call after the other, up to the first failing chunk."""
    reports: dict[int, PublishReport] = {}
    for number, chunk in enumerate(chunks):
        reports[number] = send([entries[index] for index in chunk])
        if reports[number].failed:
            break
    return reports


def _send_at_once(
    entries: Sequence[dict[str, Any]],
    chunks: list[list[int]],
    send: Send,
    threads: Executor,
    concurrency: int,
    waits_for: list[set[int]],
) -> dict[int, PublishReport]:
    """Each started chunk's report by its number, up to ``concurrency`` calls in flight.

    Chunks start in order; none starts once one has failed, or while a chunk it waits for
    (``waits_for``) is in flight. If ``send`` raises, the chunks in flight finish before the
    error is raised again, so that none is still being sent after the invocation ended.
    """
    from concurrent.futures import FIRST_COMPLETED, Future, wait

    reports: dict[int, PublishReport] = {}
    running: dict[Future[PublishReport], int] = {}
    error: BaseException | None = None
    following = 0
    while True:
        while (
            error is None
            and following < len(chunks)
            and len(running) < concurrency
            and not any(reports[number].failed for number in reports)
            and waits_for[following] <= reports.keys()
        ):
            chunk = [entries[index] for index in chunks[following]]
            # A context per call: a thread cannot enter one that another thread is in.
            running[threads.submit(contextvars.copy_context().run, send, chunk)] = following
            following += 1
        if not running:
            break
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            number = running.pop(future)
            try:
                reports[number] = future.result()
            except BaseException as raised:  # noqa: BLE001 - raised again once the others are done
                error = error or raised
    if error is not None:
        raise error
    return reports


def _waits_for(chunks: list[list[int]], items: Sequence[Hashable] | None) -> list[set[int]]:
    """For each chunk, the earlier chunks that must have returned before it starts: for each of
    its items, the last earlier chunk holding that item."""
    last_holder: dict[Hashable, int] = {}
    waits: list[set[int]] = []
    for number, chunk in enumerate(chunks):
        held = {items[index] for index in chunk} if items is not None else set()
        waits.append({last_holder[item] for item in held if item in last_holder})
        last_holder.update(dict.fromkeys(held, number))
    return waits


def earliest_failure(outgoing: Sequence[Outgoing], failed: Mapping[int, str]) -> Outgoing | None:
    """The failed record that comes first in the stream (``failed`` indexes ``outgoing``)."""
    if not failed:
        return None
    return min((outgoing[index] for index in failed), key=lambda sent: sent.record.position)


def accepted_behind(outgoing: Sequence[Outgoing], delivery: Delivery, first_failed: Outgoing) -> bool:
    """Whether EventBridge accepted entries that come after the earliest failed one.

    Then a retry from that record (Lambda's, or a redrive of the batch) would send them again.
    """
    position = first_failed.record.position
    return any(outgoing[index].record.position > position for index in delivery.published)


def unpublished_messages(
    outgoing: Sequence[Outgoing], failed: Mapping[int, str]
) -> dict[int, dict[str, Any]]:
    """One failure-queue message per entry still not published (by index), holding the entry itself.

    Kept instead of the batch's position when a retry would duplicate the accepted entries
    around them: ``s3flow redrive`` sends exactly these entries, and nothing else.
    """
    return {
        index: {
            contract.UNPUBLISHED_EVENT_MESSAGE: {
                "eventID": outgoing[index].record.event_id,
                "sequenceNumber": outgoing[index].record.sequence_number,
                "keys": outgoing[index].record.keys,
                "errorCode": code,
                "entry": outgoing[index].entry,
            }
        }
        for index, code in sorted(failed.items())
    }


def batch_response(first_failed: Outgoing | None) -> dict[str, list[dict[str, str]]]:
    """Lambda's partial batch response: retry from the earliest failed record, or nothing."""
    if first_failed is None:
        return {"batchItemFailures": []}
    return {"batchItemFailures": [{"itemIdentifier": str(first_failed.record.sequence_number)}]}


class RecentlyPublished(Container[str]):
    """The event ids of the last ``capacity`` records this container has handled: seen
    EventBridge accept, or seen the failure queue take as a kept entry.

    A second line behind ``accepted_behind``: when the failure queue cannot take an entry
    still failing, Lambda retries the batch from the earliest such entry, and the records
    behind it come again, published or kept. A retry usually reaches a warm container, which
    skips them instead of publishing or keeping them twice. Memory only: a new container
    starts empty.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def add(self, event_id: str) -> None:
        if not event_id:
            return
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


@dataclass
class PublishSummary:
    records: int = 0
    published: int = 0  # entries EventBridge accepted
    skipped: int = 0  # REMOVE, MODIFY without a status change, other event names
    unpublishable: int = 0  # records that can never become an event (bugs): logged and skipped
    failed: int = 0  # entries not published (still failing after retries, or not attempted)
    retained: int = 0  # of those, entries put in the failure queue instead of retrying the batch
    calls: int = 0  # PutEvents calls

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def metric_values(summary: Mapping[str, int] | None, latency_ms: float = 0.0) -> dict[str, float]:
    """The publisher's metrics from ``PublishSummary.as_dict()`` (zeros when the handler failed first)."""
    counts = summary or {}
    return {
        contract.METRIC_EVENTS_PUBLISHED: counts.get("published", 0),
        contract.METRIC_UNPUBLISHABLE_RECORDS: counts.get("unpublishable", 0),
    }
