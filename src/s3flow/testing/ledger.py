"""Counting the promise: what the pipeline holds for a set of uploaded object versions.

Used by the fault tests, the load test and their reports; reads the emulator (or any
endpoint) with boto3, as a user would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from s3flow import contract
from s3flow.functions.shared.dynamodb_json import from_dynamo
from s3flow.local import objects_in
from s3flow.local.credentials import emulator_client
from s3flow.streams import stream_records

ObjectVersion = tuple[str, str | None]  # (key, version id)


@dataclass
class Ledger:
    """What the pipeline holds for a set of uploaded object versions, counted.

    The promise: each uploaded version ends as exactly one SUCCESS record and one success
    event, or as a retained failure (then: no event, at most one record). A failure is
    retained in the processor's failure queue (the S3 event, not yet recorded: no record) or
    in the publisher's (a stream batch holding the record, not yet announced: one record, no
    event; ``unpublished``). ``lost``: neither. ``duplicated``: more than one record or event
    (``duplicate_records`` / ``duplicate_events`` tell which). ``strays``: records or events
    of no uploaded version (error items included).
    """

    uploaded: list[ObjectVersion]
    records: dict[ObjectVersion, list[dict[str, Any]]] = field(default_factory=dict)
    events: dict[ObjectVersion, list[dict[str, Any]]] = field(default_factory=dict)
    failures: dict[ObjectVersion, list[dict[str, Any]]] = field(default_factory=dict)
    strays: list[str] = field(default_factory=list)

    def recorded(self, version: ObjectVersion) -> bool:
        (record, *more), events = self.records.get(version) or [{}], self.events.get(version) or []
        return (
            not more
            and record.get("status") == "SUCCESS"
            and len(events) == 1
            and events[0].get("status") == "SUCCESS"
        )

    def retained(self, version: ObjectVersion) -> bool:
        records = self.records.get(version) or []
        return bool(self.failures.get(version)) and not self.events.get(version) and len(records) <= 1

    @property
    def lost(self) -> list[ObjectVersion]:
        return [
            v for v in self.uploaded if not self.recorded(v) and not self.retained(v) and not self._extra(v)
        ]

    @property
    def duplicated(self) -> list[ObjectVersion]:
        return [v for v in self.uploaded if self._extra(v)]

    @property
    def failed(self) -> list[ObjectVersion]:
        return [v for v in self.uploaded if self.retained(v)]

    def _extra(self, version: ObjectVersion) -> bool:
        return len(self.records.get(version) or []) > 1 or len(self.events.get(version) or []) > 1

    @property
    def duplicate_records(self) -> list[ObjectVersion]:
        return [v for v in self.uploaded if len(self.records.get(v) or []) > 1]

    @property
    def duplicate_events(self) -> list[ObjectVersion]:
        return [v for v in self.uploaded if len(self.events.get(v) or []) > 1]

    @property
    def extra_events(self) -> int:
        """Events beyond the first, over every uploaded version."""
        return sum(max(0, len(self.events.get(v) or []) - 1) for v in self.uploaded)

    @property
    def unpublished(self) -> list[ObjectVersion]:
        """Retained by the publisher: recorded once, no event, its stream batch or its entry in
        the publisher's failure queue (the rest of ``failed`` wait, unrecorded, in the processor's)."""
        return [
            v
            for v in self.failed
            if len(self.records.get(v) or []) == 1 and all(map(_from_publisher, self.failures[v]))
        ]

    def retained_messages(self, *, publisher: bool) -> int:
        """Distinct messages holding retained versions in one failure queue: the publisher's
        (a stream batch may hold many versions) or the processor's."""
        return len(
            {
                json.dumps(body, sort_keys=True, default=str)
                for version in self.failed
                for body in self.failures[version]
                if _from_publisher(body) == publisher
            }
        )

    @property
    def stale(self) -> list[ObjectVersion]:
        """Recorded, yet also in the failure queue: a failure nothing will clear but a redrive."""
        return [v for v in self.uploaded if self.recorded(v) and self.failures.get(v)]

    def holds(self) -> bool:
        return not self.lost and not self.duplicated and not self.strays and not self.stale

    def summary(self) -> str:
        return (
            f"uploaded {len(self.uploaded)}, recorded {sum(map(self.recorded, self.uploaded))}, "
            f"lost {len(self.lost)}, duplicated {len(self.duplicated)}, failed {len(self.failed)}, "
            f"strays {len(self.strays)}, stale failures {len(self.stale)}"
            + (f"; lost: {self.lost[:5]}" if self.lost else "")
            + (f"; duplicated: {self.duplicated[:5]}" if self.duplicated else "")
            + (f"; strays: {self.strays[:5]}" if self.strays else "")
        )


def count(uploaded: Sequence[ObjectVersion], *, endpoint_url: str, outputs: Mapping[str, str]) -> Ledger:
    """Scans the table, reads the event log group and peeks at both failure queues."""

    def client(service: str) -> Any:
        return emulator_client(service, endpoint_url=endpoint_url, region="us-east-1")

    ledger = Ledger(list(uploaded))
    wanted = set(uploaded)

    def file(into: dict[ObjectVersion, list[dict[str, Any]]], found: Mapping[str, Any], what: str) -> None:
        version = (str(found.get("objectKey", "")), found.get("versionId"))
        if version in wanted:
            into.setdefault(version, []).append(dict(found))
        else:
            ledger.strays.append(f"{what} {found.get('requestId')} {found.get('objectKey')!r}")

    dynamodb = client("dynamodb")
    for page in dynamodb.get_paginator("scan").paginate(TableName=outputs["DynamoDBTableName"]):
        for item in page["Items"]:
            file(ledger.records, from_dynamo(item), "record")
    logs = client("logs")
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=outputs["EventLogGroupName"]):
        for event in page["events"]:
            message = json.loads(event["message"])
            detail = message.get("detail", message) if isinstance(message, dict) else {}
            file(ledger.events, detail, "event")
    sqs = client("sqs")
    for body in _messages(sqs, outputs["FailureQueueUrl"]):
        for _, key, version_id in objects_in(body.get("requestPayload")):
            if (key, version_id) in wanted:
                ledger.failures.setdefault((key, version_id), []).append(body)
            else:
                ledger.strays.append(f"failure {key!r}")
    streams = client("dynamodbstreams")
    for body in _messages(sqs, outputs["PublisherFailureQueueUrl"]):
        kept = body.get(contract.UNPUBLISHED_EVENT_MESSAGE)
        if isinstance(kept, dict):  # an entry the publisher kept itself
            images = [json.loads(kept["entry"]["Detail"])]
        else:  # a stream batch's position: its records, read back
            batch = stream_records(streams, body.get("DDBStreamBatchInfo") or {})
            images = [from_dynamo(record["dynamodb"].get("NewImage") or {}) for record in batch]
        for image in images:
            version = (str(image.get("objectKey", "")), image.get("versionId"))
            if version in wanted:
                ledger.failures.setdefault(version, []).append(body)
            else:
                ledger.strays.append(f"unpublished {image.get('requestId')} {image.get('objectKey')!r}")
    return ledger


def _from_publisher(body: Mapping[str, Any]) -> bool:
    """A message of the publisher's failure queue: a stream batch's position, or a kept entry."""
    return "DDBStreamBatchInfo" in body or contract.UNPUBLISHED_EVENT_MESSAGE in body


def _messages(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message body of a queue, left in it.

    Each message is hidden while reading (a peek with visibility 0 may return the same ten
    messages every time: moto does), then all are made visible again.
    """
    received: dict[str, dict[str, Any]] = {}
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        messages = [m for m in answer.get("Messages", []) if m["MessageId"] not in received]
        if not messages:
            break
        received.update((m["MessageId"], m) for m in messages)
    for message in received.values():
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return [json.loads(message["Body"]) for message in received.values()]
