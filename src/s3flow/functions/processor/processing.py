"""Process parsed records: plan one item per object, run the steps, write it once.

Per invocation:
1. plan one item per object (or per bad record); an object whose event would exceed
   EventBridge's entry size becomes an error before anything is written;
2. run the user's processing steps (``steps.registry``) for each object; their fields ride on
   the item, a failing step turns only its object's item into an error naming the step;
3. per item a conditional PutItem: written if the key is free. A taken key is a duplicate
   delivery and nothing is written, unless the stored item records a failed step: then
   this delivery's outcome replaces it (the steps were retried).

The processor publishes nothing. Every write lands on the table's stream, and the publisher
function (``publish_handler``) announces it: the record always exists before its event, and
no crash of this function can send an event twice or lose one (transactional outbox).

One record's failure never stops the others. Transient failures (a write still failing
after retries) are counted; the handler then raises so Lambda redelivers, and the written
records are skipped as duplicates the second time.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from s3flow import contract
from s3flow.functions.processor.items import (
    Invocation,
    error_item,
    is_step_error,
    item_key,
    object_item,
    step_error_item,
    with_step_fields,
)
from s3flow.functions.processor.records import (
    IgnoredRecord,
    InvalidRecord,
    ObjectRecord,
    ParsedRecord,
    canonical_json,
    error_digest,
)
from s3flow.functions.processor.store import PutOutcome, PutResult, put_new, replace_step_error
from s3flow.functions.shared.aws_api import ApiCallError
from s3flow.functions.shared.entries import MAX_REQUEST_BYTES, event_size
from s3flow.functions.shared.observability.logs import object_context
from s3flow.functions.shared.observability.tracing import Trace

if TYPE_CHECKING:
    from s3flow.functions.processor.dependencies import Dependencies
    from s3flow.functions.processor.steps.registry import RegisteredStep

logger = logging.getLogger(__name__)
_Result = TypeVar("_Result")
_REPLACED = {True: "replaced", False: "exists"}
KEY_IN_MESSAGE_LIMIT = 200
OBJECT_METADATA = ("bucketName", "objectKey", "versionId", "size", "eventName", "status")


@dataclass
class Summary:
    records: int = 0
    ignored: int = 0
    succeeded: int = 0  # SUCCESS records written (or replacing a step error) by this invocation
    errors: int = 0  # ERROR records written by this invocation (bad records, failed steps)
    duplicates: int = 0  # already processed: nothing written
    failed: int = 0  # transient failures: not written, the handler raises
    retried: int = 0  # objects whose earlier step error this delivery retried
    step_errors: int = 0  # objects a processing step failed for in this invocation
    bytes: int = 0  # total size of the objects counted in ``succeeded``

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def clean(self) -> bool:
        """Every record became a new success: nothing failed, no error record (bad record or
        failed step), nothing ignored or skipped as a duplicate, no earlier step error retried."""
        return self.records > 0 and self.succeeded == self.records and not self.retried


def oversized(record: ObjectRecord, size: int, limit: int) -> InvalidRecord:
    key = record.key if len(record.key) <= KEY_IN_MESSAGE_LIMIT else record.key[:KEY_IN_MESSAGE_LIMIT] + "..."
    identity = {
        "bucket": record.bucket,
        "key": key,
        "versionId": record.version_id,
        "objectId": record.object_id,
    }
    return InvalidRecord(
        message=f"event for s3://{record.bucket}/{key} is {size} bytes, over the {limit}-byte entry limit",
        excerpt=canonical_json(identity),
        error_id=error_digest(["entry-too-large", record.object_id]),
        event_time=record.event_time,
        event_name=record.event_name,
    )


def plan_items(
    records: Sequence[ParsedRecord],
    invocation: Invocation,
    *,
    shards: int,
    processed_at: datetime,
    max_entry_bytes: int = MAX_REQUEST_BYTES,
    summary: Summary,
) -> list[dict[str, Any]]:
    """The items to write, at most one per key (a record repeated in one event counts once)."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        if isinstance(record, IgnoredRecord):
            summary.ignored += 1
            logger.info("ignored record: %s", record.reason)
            continue
        if isinstance(record, ObjectRecord):
            item = object_item(record, invocation, shards=shards, processed_at=processed_at)
            size = event_size(item)
            if size > max_entry_bytes:
                record = oversized(record, size, max_entry_bytes)
        if isinstance(record, InvalidRecord):
            logger.warning("invalid record: %s", record.message)
            item = error_item(record, invocation, shards=shards, processed_at=processed_at)
        if item_key(item) in items:
            summary.duplicates += 1
            continue
        items[item_key(item)] = item
    return list(items.values())


def process(
    records: Sequence[ParsedRecord],
    deps: Dependencies,
    invocation: Invocation,
    trace: Trace,
    *,
    now: datetime | None = None,
    max_entry_bytes: int = MAX_REQUEST_BYTES,
    steps: Sequence[RegisteredStep] | None = None,
) -> Summary:
    """``steps``: the processing steps to run; None loads the registered ones (``steps.registry``)."""
    settings = deps.settings
    summary = Summary(records=len(records))
    with trace.span("process_s3_records") as root:
        root.annotate("requestId", invocation.aws_request_id)
        root.annotate("functionName", invocation.function_name)
        items = plan_items(
            records,
            invocation,
            shards=settings.time_index_shards,
            processed_at=now or datetime.now(UTC),
            max_entry_bytes=max_entry_bytes,
            summary=summary,
        )
        if steps is None:
            has_objects = any(item["status"] == contract.STATUS_SUCCESS for item in items)
            steps = _configured_steps(settings.processing_steps) if has_objects else ()
        run = _StepRunner(steps, deps, trace)
        for item in items:
            with object_context(item):
                _handle(item, deps, trace, summary, run, max_entry_bytes)
        root.metadata("summary", summary.as_dict())
        if summary.failed or summary.errors:
            root.annotate("error", f"{summary.failed} transient failure(s), {summary.errors} error record(s)")
    return summary


def _handle(
    item: dict[str, Any],
    deps: Dependencies,
    trace: Trace,
    summary: Summary,
    run: _StepRunner,
    max_entry_bytes: int,
) -> None:
    """Run the steps the item needs and write it once."""
    if item["status"] == contract.STATUS_SUCCESS:
        item = run(item, summary, max_entry_bytes)
    result = _write(item, deps, trace, summary)
    if result is None:
        return
    if result.outcome is PutOutcome.WRITTEN:
        _count_written(item, summary)
        return
    if not is_step_error(result.item):
        summary.duplicates += 1
        logger.info("duplicate delivery skipped: already processed")
        return
    summary.retried += 1
    if is_step_error(item):
        logger.info("steps retried and failed again: the stored step error stays")
        return
    if _replace(item, deps, trace, summary):
        _count_written(item, summary)
    else:
        summary.duplicates += 1
        logger.info("duplicate delivery skipped: another delivery already retried the steps")


def _count_written(item: dict[str, Any], summary: Summary) -> None:
    if item["status"] == contract.STATUS_ERROR:
        summary.errors += 1
        logger.warning("error record written: %s", item.get("errorMessage"), extra={"status": item["status"]})
    else:
        summary.succeeded += 1
        summary.bytes += int(item.get("size") or 0)
        # DEBUG: the stored record and its event (every event also lands in the events log
        # group) already tell that the object succeeded, and the EMF document counts it.
        logger.debug("record written", extra={"status": item["status"]})


def _configured_steps(spec: str) -> tuple[RegisteredStep, ...]:
    """The configured steps; without any, ``steps.registry`` is never imported (cold start)."""
    if not spec and "s3flow.functions.processor.steps.registry" not in sys.modules:
        return ()
    from s3flow.functions.processor.steps.registry import load_steps

    return load_steps(spec)


class _StepRunner:
    """Runs the processing steps for one object; a failing step turns only that object into an error."""

    def __init__(self, steps: Sequence[RegisteredStep], deps: Dependencies, trace: Trace) -> None:
        self._steps = tuple(steps)
        self._deps = deps
        self._trace = trace

    def __call__(self, item: dict[str, Any], summary: Summary, max_entry_bytes: int) -> dict[str, Any]:
        if not self._steps:
            return with_step_fields(item, {})
        from s3flow.functions.processor.steps.registry import ObjectRef, failure, run_step

        ref = ObjectRef(
            bucket=item["bucketName"],
            key=item["objectKey"],
            version_id=item.get("versionId"),
            size=int(item["size"]),
            etag=item.get("eTag"),
            client_factory=lambda: _TracedS3(self._deps.s3(), self._trace),
        )
        outputs: dict[str, dict[str, Any]] = {}
        for step in self._steps:
            with self._trace.span("processing_step") as span:
                span.annotate("step", step.name)
                try:
                    outputs[step.name] = run_step(step, ref)
                except Exception as error:  # noqa: BLE001 - a user step fails only its own object
                    failed = failure(step.name, error)
                    span.fail(f"step {step.name} failed: {failed.message}")
                    span.annotate("error", failed.message)
                    logger.warning(
                        "step %s failed: %s",
                        step.name,
                        failed.message,
                        exc_info=True,
                        extra={"step": step.name},
                    )
                    summary.step_errors += 1
                    return step_error_item(
                        item, step=step.name, message=failed.message, error_type=failed.error_type
                    )
        enriched = with_step_fields(item, outputs)
        size = event_size(enriched)
        if size > max_entry_bytes:
            names = ",".join(outputs)
            message = (
                f"the fields of steps {names} make the event {size} bytes, "
                f"over the {max_entry_bytes}-byte limit"
            )
            logger.warning("%s", message)
            summary.step_errors += 1
            return step_error_item(item, step=names, message=message, error_type="EventTooLarge")
        return enriched


class _TracedS3:
    """The S3 client steps get: each GetObject is an ``S3`` subsegment under its step's span."""

    def __init__(self, client: Any, trace: Trace) -> None:
        self._client = client
        self._trace = trace

    def get_object(self, **params: Any) -> Any:
        with self._trace.aws_call("S3", "GetObject"):
            return self._client.get_object(**params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _write(item: dict[str, Any], deps: Dependencies, trace: Trace, summary: Summary) -> PutResult | None:
    """The conditional write of a new record; its result, or None when it failed (counted)."""
    return _put(item, deps, trace, summary, put_new, lambda result: result.outcome.value)


def _replace(item: dict[str, Any], deps: Dependencies, trace: Trace, summary: Summary) -> bool:
    """Replace a stored step error with this delivery's outcome; False when another delivery did."""
    return bool(_put(item, deps, trace, summary, replace_step_error, lambda done: _REPLACED[bool(done)]))


def _put(
    item: dict[str, Any],
    deps: Dependencies,
    trace: Trace,
    summary: Summary,
    put: Callable[..., _Result],
    outcome: Callable[[Any], str],
) -> _Result | None:
    """One traced conditional ``PutItem``; None when it failed after the client's retries (counted)."""
    with trace.span("dynamodb_write") as span:
        span.annotate("requestId", item[contract.TABLE_PARTITION_KEY])
        span.metadata("object", {name: item.get(name) for name in OBJECT_METADATA})
        if item["status"] == contract.STATUS_ERROR:
            span.annotate("error", item["errorMessage"])
        try:
            with trace.aws_call("DynamoDB", "PutItem", table_name=deps.settings.table_name):
                result = put(deps.dynamodb, deps.settings.table_name, item)
        except ApiCallError as error:
            span.fail(f"PutItem failed: {error}")
            logger.error("writing %s failed: %s", item[contract.TABLE_PARTITION_KEY], error)
            summary.failed += 1
            return None
        span.metadata("outcome", outcome(result))
    return result
