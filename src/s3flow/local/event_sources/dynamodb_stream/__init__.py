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

The modules: ``filters`` (``FilterCriteria``), ``reader`` (moto's shards and records),
``failures`` (partial batch responses, the on-failure record), ``poller`` (the rest).
"""

from __future__ import annotations

from s3flow.local.event_sources.dynamodb_stream.failures import (
    CONDITION_RECORD_AGE_EXCEEDED,
    CONDITION_RETRIES_EXHAUSTED,
    failure_record,
    first_failure,
)
from s3flow.local.event_sources.dynamodb_stream.filters import parse_filters, passes
from s3flow.local.event_sources.dynamodb_stream.poller import (
    POLL_INTERVAL,
    STREAM_RETRY_DELAYS,
    Invoke,
    MappingListener,
    SendToQueue,
    StreamPoller,
    StreamPollers,
)
from s3flow.local.event_sources.dynamodb_stream.reader import (
    MotoStreamReader,
    StreamReader,
    StreamRecord,
    shape,
)

__all__ = [
    "CONDITION_RECORD_AGE_EXCEEDED",
    "CONDITION_RETRIES_EXHAUSTED",
    "POLL_INTERVAL",
    "STREAM_RETRY_DELAYS",
    "Invoke",
    "MappingListener",
    "MotoStreamReader",
    "SendToQueue",
    "StreamPoller",
    "StreamPollers",
    "StreamReader",
    "StreamRecord",
    "failure_record",
    "first_failure",
    "parse_filters",
    "passes",
    "shape",
]
