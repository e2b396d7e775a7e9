"""Helpers for the processor tests: sample events, fake context, recorders, moto set-up."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s3flow import contract

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
TABLE = "s3-processor-records-test"
BUS = "s3-processing-bus-test"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


@dataclass
class FakeContext:
    function_name: str = "s3-object-processor-test"
    function_version: str = "$LATEST"
    aws_request_id: str = "4b5c7d2e-0000-4000-8000-000000000001"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:s3-object-processor-test"


@dataclass
class ApiCall:
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any] | None = None


@dataclass
class ApiRecorder:
    """Every AWS API call any boto3 client makes, with its parameters and parsed response."""

    calls: list[ApiCall] = field(default_factory=list)

    def of(self, service: str, operation: str | None = None) -> list[ApiCall]:
        return [
            c for c in self.calls if c.service == service and (operation is None or c.operation == operation)
        ]

    def published_entries(self) -> list[dict[str, Any]]:
        """PutEvents entries EventBridge accepted (it returned an EventId for them)."""
        accepted = []
        for call in self.of("events", "PutEvents"):
            results = (call.response or {}).get("Entries", [])
            accepted.extend(
                e for e, r in zip(call.params["Entries"], results, strict=False) if r.get("EventId")
            )
        return accepted


@dataclass
class Sleeps:
    seconds: list[float] = field(default_factory=list)

    def __call__(self, value: float) -> None:
        self.seconds.append(value)


@dataclass
class Aws:
    dynamodb: Any
    events: Any
    sqs: Any
    queue_url: str

    def items(self) -> list[dict[str, Any]]:
        from s3flow.processor.store import from_dynamo

        pages = self.dynamodb.get_paginator("scan").paginate(TableName=TABLE)
        return [from_dynamo(item) for page in pages for item in page["Items"]]

    def delivered_events(self) -> list[dict[str, Any]]:
        """Events the bus delivered to the catch-all rule's queue."""
        events = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return events
            for message in batch:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def create_table(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": contract.TABLE_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": contract.TABLE_SORT_KEY, "AttributeType": "S"},
            {"AttributeName": contract.TIME_INDEX_PARTITION_KEY, "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": contract.TABLE_PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": contract.TABLE_SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": contract.TIME_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": contract.TIME_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": contract.TIME_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
