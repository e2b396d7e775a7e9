"""Read what the pipeline produced: records (time index, table), routed events (log group), failures (queue).

Small functions over a ``Target``; they return plain data and leave printing to ``render``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from s3flow import contract
from s3flow.cli.errors import CliError
from s3flow.cli.target import Target
from s3flow.cli.time_range import query_time_range
from s3flow.functions.shared.dynamodb_json import from_dynamo
from s3flow.local import objects_in


def time_index_shards(target: Target) -> int:
    """The shard count the function writes with (its environment), else the default."""
    try:
        config = target.client("lambda").get_function_configuration(
            FunctionName=target.output("LambdaFunctionName")
        )
        value = config.get("Environment", {}).get("Variables", {}).get(contract.ENV_TIME_INDEX_SHARDS)
        return int(value) if value else contract.DEFAULT_TIME_INDEX_SHARDS
    except (ClientError, ValueError):
        return contract.DEFAULT_TIME_INDEX_SHARDS


# A record's time is its S3 event time, so none lies much beyond now; a day covers clock skew.
RECORDS_AHEAD_OF_NOW = timedelta(days=1)


def readable_until(end: datetime, now: datetime | None = None) -> datetime:
    """``end``, or a day past now if later: the index is read with one Query per day and
    shard, so a far ``--until`` would cost millions of empty queries."""
    return min(end, (now or datetime.now(UTC)) + RECORDS_AHEAD_OF_NOW)


def fetch_records(
    target: Target, start: datetime, end: datetime, status: str | None = None, *, whole: bool = False
) -> list[dict[str, Any]]:
    """The records in ``[start, end]`` from the time index (``end`` cut to ``readable_until``).

    The index holds only ``contract.TIME_INDEX_PROJECTED_ATTRIBUTES``; ``whole`` reads each
    record's every attribute (step fields included) from the table too.
    """
    end = readable_until(end)
    dynamodb, table = target.client("dynamodb"), target.output("DynamoDBTableName")
    items = query_time_range(dynamodb, table, start, end, shards=time_index_shards(target))
    if status:
        items = [item for item in items if str(item.get("status", "")).upper() == status.upper()]
    return whole_items(dynamodb, table, items) if whole else items


def scan_records(target: Target, status: str, key_prefix: str = "") -> list[dict[str, Any]]:
    """Every record with ``status`` (and an ``objectKey`` under ``key_prefix``), whole, from a
    consistent ``Scan`` of the table: for when no time range narrows the search. DynamoDB
    filters after reading, so the whole table is read (and billed) whatever matches;
    ``fetch_records`` reads one range through the time index instead."""
    dynamodb, table = target.client("dynamodb"), target.output("DynamoDBTableName")
    names, values = {"#status": "status"}, {":status": {"S": status}}
    expression = "#status = :status"
    if key_prefix:
        expression += " AND begins_with(#key, :prefix)"
        names["#key"], values[":prefix"] = "objectKey", {"S": key_prefix}
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ConsistentRead=True,
    )
    return [from_dynamo(item) for page in pages for item in page.get("Items", [])]


# BatchGetItem takes at most 100 keys per call; keys it could not read come back to be asked again.
BATCH_GET_KEYS = 100
BATCH_GET_ATTEMPTS = 8


def whole_items(dynamodb: Any, table: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The table's items for these index entries, in their order; an entry whose item is gone
    (deleted since the index was read) stays as it is."""
    key_names = (contract.TABLE_PARTITION_KEY, contract.TABLE_SORT_KEY)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    keys = [{name: {"S": str(entry[name])} for name in key_names} for entry in entries]
    for start in range(0, len(keys), BATCH_GET_KEYS):
        wanted: dict[str, Any] = {table: {"Keys": keys[start : start + BATCH_GET_KEYS]}}
        for attempt in range(BATCH_GET_ATTEMPTS):
            page = dynamodb.batch_get_item(RequestItems=wanted)
            for raw in page.get("Responses", {}).get(table, []):
                item = from_dynamo(raw)
                found[(item[key_names[0]], item[key_names[1]])] = item
            wanted = page.get("UnprocessedKeys") or {}
            if not wanted:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))  # throttled: back off before asking again
        else:
            raise CliError(f"{table} kept some records unread after {BATCH_GET_ATTEMPTS} attempts: try again")
    return [found.get((entry[key_names[0]], entry[key_names[1]]), entry) for entry in entries]


def _query_object_id(dynamodb: Any, table: str, request_id: str, **options: Any) -> dict[str, Any]:
    return dict(
        dynamodb.query(
            TableName=table,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": contract.TABLE_PARTITION_KEY},
            ExpressionAttributeValues={":pk": {"S": request_id}},
            **options,
        )
    )


def has_record(dynamodb: Any, table: str, request_id: str) -> bool:
    """True when a record exists under the object id (its event then exists or is on its way)."""
    page = _query_object_id(dynamodb, table, request_id, ProjectionExpression="#pk", Limit=1)
    return bool(page.get("Items"))


def object_records(dynamodb: Any, table: str, request_id: str) -> list[dict[str, Any]]:
    """Every record under one object id, whole (one Query on the table's partition key):
    one, save for a redelivery that carried another event time (docs/data-model.md)."""
    items: list[dict[str, Any]] = []
    options: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = _query_object_id(dynamodb, table, request_id, **options)
        items.extend(from_dynamo(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        options["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass(frozen=True)
class RoutedEvent:
    """One entry the event rules wrote to the log group."""

    timestamp_ms: int
    detail: dict[str, Any]
    raw: str

    @property
    def status(self) -> str:
        return str(self.detail.get("status", ""))

    @property
    def document(self) -> Any:
        """The entry as delivered, its numbers exact (Decimals); an entry that is not JSON as its text."""
        try:
            return json.loads(self.raw, parse_float=Decimal)
        except ValueError:
            return self.raw


def parse_log_message(message: str) -> dict[str, Any]:
    """The event detail from a log entry: the rule writes ``$.detail`` (possibly wrapped)."""
    try:
        value = json.loads(message)
    except ValueError:
        return {}
    if isinstance(value, dict) and isinstance(value.get("message"), dict) and "status" not in value:
        value = value["message"]
    if isinstance(value, dict) and isinstance(value.get("detail"), dict) and "status" not in value:
        value = value["detail"]
    return value if isinstance(value, dict) else {}


def fetch_events(
    target: Target, start: datetime | None = None, limit: int | None = None, *, request_id: str | None = None
) -> list[RoutedEvent]:
    """The entries of the event log group since ``start``, oldest first (the last ``limit``);
    with ``request_id``, only the events of that record."""
    logs = target.client("logs")
    kwargs: dict[str, Any] = {"logGroupName": target.output("EventLogGroupName")}
    if start is not None:
        kwargs["startTime"] = int(start.timestamp() * 1000)
    if request_id is not None:
        # The service keeps the entries holding the id (a quoted term: an exact phrase), so a
        # busy group is not read whole; the detail's requestId is then checked here.
        kwargs["filterPattern"] = f'"{request_id}"'
    events: list[RoutedEvent] = []
    while True:
        page = logs.filter_log_events(**kwargs)
        for entry in page.get("events", []):
            message = entry.get("message", "")
            event = RoutedEvent(entry.get("timestamp", 0), parse_log_message(message), message)
            if request_id is None or event.detail.get(contract.TABLE_PARTITION_KEY) == request_id:
                events.append(event)
        token = page.get("nextToken")
        if not token or token == kwargs.get("nextToken"):
            break
        kwargs["nextToken"] = token
    events.sort(key=lambda event: event.timestamp_ms)
    return events[-limit:] if limit else events


@dataclass(frozen=True)
class FailedInvocation:
    """A message of a failure queue: an invocation that failed after its retries."""

    message_id: str
    receipt_handle: str
    body: dict[str, Any]

    @property
    def request_payload(self) -> Any:
        return self.body.get("requestPayload")

    @property
    def condition(self) -> str:
        return str(self.body.get("requestContext", {}).get("condition", ""))

    @property
    def error_message(self) -> str:
        response = self.body.get("responsePayload")
        if isinstance(response, dict):
            return str(response.get("errorMessage") or response.get("errorType") or "")
        return str(response or "")

    @property
    def keys(self) -> list[str]:
        return [key for _, key, _ in objects_in(self.request_payload)]


def failure_count(target: Target, queue_output: str = "FailureQueueUrl") -> int:
    attributes = target.client("sqs").get_queue_attributes(
        QueueUrl=target.output(queue_output),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
        attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
    )


# A peek hides what it has read for this long, so that the next receive returns other
# messages (with 0, SQS and moto may hand back the same first ten every time); then it
# makes them visible again.
PEEK_VISIBILITY_SECONDS = 30


def receive_failures(
    target: Target,
    *,
    visibility_timeout: int,
    max_messages: int = 1000,
    queue_output: str = "FailureQueueUrl",
) -> list[FailedInvocation]:
    """Messages of a failure queue (the processor's unless ``queue_output`` names another stack output).

    ``visibility_timeout=0`` only peeks: nothing is consumed.
    """
    sqs, url = target.client("sqs"), target.output(queue_output)
    peek = visibility_timeout == 0
    seen: dict[str, FailedInvocation] = {}
    empty_polls = 0
    try:
        while len(seen) < max_messages and empty_polls < 2:
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=PEEK_VISIBILITY_SECONDS if peek else visibility_timeout,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            new = [m for m in messages if m["MessageId"] not in seen]
            empty_polls = 0 if new else empty_polls + 1
            for message in new:
                try:
                    body = json.loads(message.get("Body", ""))
                except ValueError:
                    body = {"raw": message.get("Body", "")}
                seen[message["MessageId"]] = FailedInvocation(
                    message["MessageId"],
                    message["ReceiptHandle"],
                    body if isinstance(body, dict) else {"raw": body},
                )
    finally:
        if peek:
            _make_visible(sqs, url, list(seen.values()))
    return list(seen.values())


def _make_visible(sqs: Any, url: str, messages: list[FailedInvocation]) -> None:
    for start in range(0, len(messages), 10):  # SQS batch limit
        entries = [
            {"Id": str(index), "ReceiptHandle": message.receipt_handle, "VisibilityTimeout": 0}
            for index, message in enumerate(messages[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


REDRIVE_VISIBILITY_SECONDS = 60


@dataclass
class RedriveSummary:
    redriven: list[str]
    skipped: list[str]  # message ids with no request payload to replay
    rejected: list[str]  # message ids whose invoke was not accepted (kept in the queue)
    already_recorded: list[str] = field(default_factory=list)  # every object already recorded

    def outcome(self, message_id: str) -> str:
        """redriven | already_recorded | skipped | not_accepted"""
        for name, ids in (("redriven", self.redriven), ("already_recorded", self.already_recorded),
                          ("skipped", self.skipped), ("not_accepted", self.rejected)):  # fmt: skip
            if message_id in ids:
                return name
        return "unknown"


def redrive(target: Target, *, dry_run: bool = False, on_message: Any = None) -> RedriveSummary:
    """Re-invoke each failed event's ``requestPayload``; delete the message only once accepted.

    Messages are hidden while being redriven; one whose invoke is refused is made visible
    again at once, so it stays in the queue for the next attempt.
    """
    failures = receive_failures(target, visibility_timeout=0 if dry_run else REDRIVE_VISIBILITY_SECONDS)
    summary = RedriveSummary([], [], [])
    for failure in failures:
        if failure.request_payload is None:
            summary.skipped.append(failure.message_id)
        elif _fully_recorded(target, failure.request_payload):
            # e.g. backfilled meanwhile: a replay with the old event time would add a second item
            summary.already_recorded.append(failure.message_id)
            if not dry_run:
                target.client("sqs").delete_message(
                    QueueUrl=target.output("FailureQueueUrl"), ReceiptHandle=failure.receipt_handle
                )
        elif dry_run or _reinvoke(target, failure):
            summary.redriven.append(failure.message_id)
        else:
            summary.rejected.append(failure.message_id)
        if on_message:
            on_message(failure, summary.outcome(failure.message_id))
    return summary


def _fully_recorded(target: Target, payload: Any) -> bool:
    """True when every record of the event is an object version already recorded.

    Its event is then the publisher's business (published, or in the publisher's failure queue).
    """
    from s3flow.functions.processor.records import ObjectRecord, parse_record

    records = payload.get("Records") if isinstance(payload, dict) else None
    if not records:
        return False
    parsed = [parse_record(record) for record in records]
    if not all(isinstance(record, ObjectRecord) for record in parsed):
        return False
    dynamodb, table = target.client("dynamodb"), target.output("DynamoDBTableName")
    return all(has_record(dynamodb, table, record.object_id) for record in parsed)  # type: ignore[union-attr]


def _reinvoke(target: Target, failure: FailedInvocation) -> bool:
    sqs, url = target.client("sqs"), target.output("FailureQueueUrl")
    try:
        response = target.client("lambda").invoke(
            FunctionName=target.output("LambdaFunctionName"),
            InvocationType="Event",
            Payload=json.dumps(failure.request_payload).encode("utf-8"),
        )
        accepted = response.get("StatusCode") == 202
    except ClientError:
        accepted = False
    if accepted:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=failure.receipt_handle)
    else:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=failure.receipt_handle, VisibilityTimeout=0)
    return accepted
