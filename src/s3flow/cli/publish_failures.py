"""The publisher's failure queue: stream batches it could not publish, and their redrive.

For a stream source Lambda sends where the batch was (``DDBStreamBatchInfo``: shard and
sequence numbers), not its records. Redrive reads those records back from the table's
stream, which keeps them 24 hours, and runs the publisher on them synchronously; a message
is deleted only when the publisher reports every record published. Records already gone
from the stream cannot be replayed from the message: those stay in the queue and are
reported, since their records are still in the table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from s3flow import contract
from s3flow.cli.queries import FailedInvocation, receive_failures
from s3flow.cli.target import Target
from s3flow.streams import stream_records

QUEUE_OUTPUT = "PublisherFailureQueueUrl"
FUNCTION_OUTPUT = "PublisherFunctionName"
REDRIVE_VISIBILITY_SECONDS = 60


@dataclass(frozen=True)
class FailedBatch:
    """One message of the publisher's failure queue: a stream batch's position (Lambda's), or
    one event entry the publisher kept itself because retrying its batch would have sent
    again the entries accepted behind it (``unpublished``)."""

    message: FailedInvocation

    @property
    def message_id(self) -> str:
        return self.message.message_id

    @property
    def unpublished(self) -> dict[str, Any]:
        kept = self.message.body.get(contract.UNPUBLISHED_EVENT_MESSAGE)
        return kept if isinstance(kept, dict) else {}

    @property
    def info(self) -> dict[str, Any]:
        info = self.message.body.get("DDBStreamBatchInfo")
        return info if isinstance(info, dict) else {}

    @property
    def condition(self) -> str:
        if self.unpublished:
            return f"EntryRefused: {self.unpublished.get('errorCode', '')}"
        return self.message.condition

    @property
    def size(self) -> int:
        return 1 if self.unpublished else int(self.info.get("batchSize") or 0)

    @property
    def sequence_range(self) -> tuple[str, str]:
        if self.unpublished:
            sequence = str(self.unpublished.get("sequenceNumber", ""))
            return sequence, sequence
        return str(self.info.get("startSequenceNumber", "")), str(self.info.get("endSequenceNumber", ""))

    @property
    def first_arrival(self) -> str:
        return str(self.info.get("approximateArrivalOfFirstRecord", ""))


def receive_failed_batches(target: Target, *, visibility_timeout: int) -> list[FailedBatch]:
    found = receive_failures(target, visibility_timeout=visibility_timeout, queue_output=QUEUE_OUTPUT)
    return [FailedBatch(message) for message in found]


@dataclass
class BatchRedriveSummary:
    republished: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)  # records no longer in the stream: kept
    rejected: list[str] = field(default_factory=list)  # the publisher failed again: kept

    def outcome(self, message_id: str) -> str:
        """republished | expired | not_published"""
        for name, ids in (("republished", self.republished), ("expired", self.expired),
                          ("not_published", self.rejected)):  # fmt: skip
            if message_id in ids:
                return name
        return "unknown"


def redrive_batches(
    target: Target, *, dry_run: bool = False, on_message: Callable[[FailedBatch, str], None] | None = None
) -> BatchRedriveSummary:
    batches = receive_failed_batches(target, visibility_timeout=0 if dry_run else REDRIVE_VISIBILITY_SECONDS)
    summary = BatchRedriveSummary()
    sqs, url = target.client("sqs"), target.output(QUEUE_OUTPUT)
    for batch in batches:
        if batch.unpublished:
            entry = batch.unpublished.get("entry")
            if dry_run or (isinstance(entry, dict) and _put_event(target, entry)):
                summary.republished.append(batch.message_id)
            else:
                summary.rejected.append(batch.message_id)
            _settle(sqs, url, batch, summary, dry_run, on_message)
            continue
        records = stream_records(target.client("dynamodbstreams"), batch.info) if batch.info else []
        if not records:
            summary.expired.append(batch.message_id)
        elif dry_run or _publish(target, records):
            summary.republished.append(batch.message_id)
        else:
            summary.rejected.append(batch.message_id)
        _settle(sqs, url, batch, summary, dry_run, on_message)
    return summary


def _settle(
    sqs: Any,
    url: str,
    batch: FailedBatch,
    summary: BatchRedriveSummary,
    dry_run: bool,
    on_message: Callable[[FailedBatch, str], None] | None,
) -> None:
    """Delete a republished message; make any other visible again at once (it stays)."""
    if not dry_run:
        if batch.message_id in summary.republished:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=batch.message.receipt_handle)
        else:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=batch.message.receipt_handle, VisibilityTimeout=0
            )
    if on_message:
        on_message(batch, summary.outcome(batch.message_id))


def _put_event(target: Target, entry: dict[str, Any]) -> bool:
    """Send one kept entry as it was built (detail, trace header, bus); True once accepted."""
    try:
        response = target.client("events").put_events(Entries=[entry])
    except ClientError:
        return False
    return not response.get("FailedEntryCount")


def _publish(target: Target, records: list[dict[str, Any]]) -> bool:
    """Run the publisher on the records; True when it reports every one published."""
    try:
        response = target.client("lambda").invoke(
            FunctionName=target.output(FUNCTION_OUTPUT),
            InvocationType="RequestResponse",
            Payload=json.dumps({"Records": records}, default=str).encode("utf-8"),
        )
    except ClientError:
        return False
    if response.get("FunctionError"):
        return False
    try:
        result = json.loads(response["Payload"].read() or b"{}")
    except ValueError:
        return False
    return isinstance(result, dict) and not result.get("batchItemFailures")
