"""The publisher's failure queue: kept entries sent as messages within SendMessageBatch's limits.

Takes an injected client. Never raises for a refused message: it reports which messages the
queue took and which it did not, so the caller can treat the taken ones as done (a retry must
not send them again) and only the others as still failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from s3flow.functions.shared.aws_api import ApiCallError
from s3flow.functions.shared.backoff import Backoff

if TYPE_CHECKING:
    from s3flow.functions.shared.aws_api import JsonApiClient

# SendMessageBatch takes at most 10 messages, and each message and all of them together at
# most 1 MiB (1,048,576 bytes), counted as the messages' lengths:
# https://docs.aws.amazon.com/goto/SdkForKotlin/sqs-2012-11-05/SendMessageBatch and
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
MAX_BATCH_MESSAGES = 10
MAX_BATCH_BYTES = 1_048_576
MAX_MESSAGE_BYTES = 1_048_576
# Codes of messages this module did not get the queue to take without SQS saying why.
TOO_LONG = "MessageTooLong"  # over MAX_MESSAGE_BYTES: never sent
NOT_ATTEMPTED = "NotAttempted"  # left unsent after a call failed as a whole
MISSING_RESULT = "MissingResult"  # the response named it neither taken nor refused


@dataclass(frozen=True)
class Message:
    key: int  # the caller's name for it (an index into its entries)
    body: str

    @property
    def size(self) -> int:
        return len(self.body.encode("utf-8"))


@dataclass
class QueueReport:
    queued: list[int] = field(default_factory=list)  # keys of the messages the queue took
    refused: dict[int, str] = field(default_factory=dict)  # key -> last error code
    calls: int = 0


def batches(
    messages: Sequence[Message],
    *,
    max_messages: int = MAX_BATCH_MESSAGES,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[list[Message]]:
    """The messages in order, grouped into calls within both limits (each message fits alone)."""
    grouped: list[list[Message]] = []
    current: list[Message] = []
    current_bytes = 0
    for message in messages:
        if current and (len(current) == max_messages or current_bytes + message.size > max_bytes):
            grouped.append(current)
            current, current_bytes = [], 0
        current.append(message)
        current_bytes += message.size
    if current:
        grouped.append(current)
    return grouped


def send(
    client: JsonApiClient, queue_url: str, messages: Sequence[Message], *, backoff: Backoff | None = None
) -> QueueReport:
    """Send every message once at most: only the ones SQS refused for its own reasons go again.

    A message SQS refused with ``SenderFault`` false (its side: try again) is resent alone, up
    to ``backoff.attempts`` tries in all; one refused for our fault is not. A call that fails as
    a whole has had the client's own retries: its messages and every later one stay unsent.
    """
    backoff = backoff or Backoff()
    report = QueueReport()
    report.refused.update({m.key: TOO_LONG for m in messages if m.size > MAX_MESSAGE_BYTES})
    pending: list[Message] | None = [m for m in messages if m.size <= MAX_MESSAGE_BYTES]
    for attempt in range(backoff.attempts):
        pending = _send_once(client, queue_url, pending or [], report)
        if not pending:
            break
        if attempt + 1 < backoff.attempts:
            backoff.pause(attempt)
    return report


def _send_once(
    client: JsonApiClient, queue_url: str, messages: list[Message], report: QueueReport
) -> list[Message] | None:
    """One pass over the messages: the refused ones worth another try, None once a call failed whole."""
    grouped = batches(messages)
    retry: list[Message] = []
    for number, batch in enumerate(grouped):
        report.calls += 1
        try:
            response = client.call("SendMessageBatch", {"QueueUrl": queue_url, "Entries": _entries(batch)})
        except ApiCallError as error:
            report.refused.update(dict.fromkeys((m.key for m in batch), error.code))
            unsent = [m.key for later in grouped[number + 1 :] for m in later]
            report.refused.update(dict.fromkeys(unsent, NOT_ATTEMPTED))
            return None
        retry.extend(_settle(batch, response, report))
    return retry


def _entries(batch: list[Message]) -> list[dict[str, str]]:
    return [{"Id": str(position), "MessageBody": message.body} for position, message in enumerate(batch)]


def _settle(batch: list[Message], response: dict[str, object], report: QueueReport) -> list[Message]:
    """Record what the queue took and refused; return the refused messages worth another try."""
    taken = {str(entry.get("Id")) for entry in _results(response, "Successful")}
    refusals = {str(entry.get("Id")): entry for entry in _results(response, "Failed")}
    retry = []
    for position, message in enumerate(batch):
        if str(position) in taken:
            report.queued.append(message.key)
            report.refused.pop(message.key, None)
            continue
        refusal = refusals.get(str(position))
        report.refused[message.key] = str(refusal.get("Code") or "") if refusal else MISSING_RESULT
        # SenderFault false: not the caller's fault, worth another try
        # (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_BatchResultErrorEntry.html).
        # No result at all: unknown whether the queue took it, so not sent again (that could
        # queue it twice).
        if refusal is not None and refusal.get("SenderFault") is False:
            retry.append(message)
    return retry


def _results(response: dict[str, object], name: str) -> list[dict[str, object]]:
    results = response.get(name)
    return [entry for entry in results if isinstance(entry, dict)] if isinstance(results, list) else []
