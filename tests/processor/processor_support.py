"""Helpers for the processor tests: sample events, fake context, recorders, moto set-up."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from s3flow.functions.shared.aws_api import DYNAMODB, ApiCallError, JsonApiClient
from s3flow.functions.shared.observability.xray import DAEMON_HEADER
from s3flow.testing.records_table import create_table_request

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

    @property
    def table_writer(self) -> JsonApiClient:
        """A client like the processor's, for calling ``s3flow.functions.processor.store`` directly."""
        return JsonApiClient(DYNAMODB)

    def items(self) -> list[dict[str, Any]]:
        from s3flow.functions.shared.dynamodb_json import from_dynamo

        pages = self.dynamodb.get_paginator("scan").paginate(TableName=TABLE)
        return [from_dynamo(item) for page in pages for item in page["Items"]]

    def stream_records(self) -> list[dict[str, Any]]:
        """Every record the table's stream holds, oldest first (what the publisher would read)."""
        # botocore would address the stream at <account>.streams-ddb..., a host moto does not serve.
        streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        arn = self.dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        records: list[dict[str, Any]] = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = streams.get_records(ShardIterator=iterator)
                records.extend(page["Records"])
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator")
        return records

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
    dynamodb.create_table(**create_table_request(TABLE))


def s3_record(
    bucket: str, key: str, *, size: int, etag: str | None, version_id: str | None
) -> dict[str, Any]:
    """An ObjectCreated:Put record shaped like S3's, for an object really stored in moto."""
    import copy
    from urllib.parse import quote_plus

    raw = copy.deepcopy(load_event("s3_put_single")["Records"][0])
    raw["s3"]["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": size, "sequencer": "0055AED6DCD90281E5"}
    if etag is not None:
        obj["eTag"] = etag
    if version_id is not None:
        obj["versionId"] = version_id
    raw["s3"]["object"] = obj
    return raw


@dataclass
class Uploads:
    """A bucket in moto; ``put`` stores an object and returns the S3 record announcing it."""

    s3: Any
    bucket: str
    versioned: bool = True

    def put(self, key: str, body: bytes) -> dict[str, Any]:
        response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return s3_record(
            self.bucket,
            key,
            size=len(body),
            etag=response["ETag"].strip('"'),
            version_id=response.get("VersionId") if self.versioned else None,
        )


# Units the EMF specification accepts (CloudWatch's StandardUnit values).
EMF_UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
    "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
    "Count/Second", "None",
}  # fmt: skip


def emf_problems(document: Any) -> list[str]:
    """What makes ``document`` invalid per the CloudWatch embedded metric format specification."""
    problems: list[str] = []
    if not isinstance(document, dict) or not isinstance(document.get("_aws"), dict):
        return ["root must be an object with an _aws object"]
    meta = document["_aws"]
    timestamp = meta.get("Timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0:
        problems.append("_aws.Timestamp must be epoch milliseconds")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*problems, "_aws.CloudWatchMetrics must be a non-empty array"]
    for directive in directives:
        if not isinstance(directive, dict) or set(directive) - {"Namespace", "Dimensions", "Metrics"}:
            problems.append(f"directive has unknown members: {directive}")
            continue
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255 or not namespace.strip():
            problems.append("Namespace must be a non-blank string of 1-255 characters")
        for dimension_set in directive.get("Dimensions", []):
            if not isinstance(dimension_set, list) or len(dimension_set) > 30:
                problems.append("a DimensionSet must be an array of at most 30 keys")
                continue
            for key in dimension_set:
                value = document.get(key)
                if not isinstance(value, str) or not 1 <= len(value) <= 1024:
                    problems.append(f"dimension {key!r} must be a top-level string of 1-1024 characters")
        metrics = directive.get("Metrics")
        if not isinstance(metrics, list) or len(metrics) > 100:
            problems.append("Metrics must be an array of at most 100 definitions")
            continue
        for metric in metrics:
            name = metric.get("Name") if isinstance(metric, dict) else None
            if not isinstance(name, str) or not 1 <= len(name) <= 255:
                problems.append(f"metric definition without a valid Name: {metric}")
                continue
            if set(metric) - {"Name", "Unit", "StorageResolution"}:
                problems.append(f"metric {name} has unknown members")
            if "Unit" in metric and metric["Unit"] not in EMF_UNITS:
                problems.append(f"metric {name} has unit {metric['Unit']!r}")
            if metric.get("StorageResolution", 60) not in (1, 60):
                problems.append(f"metric {name} has an invalid StorageResolution")
            value = document.get(name)
            values = value if isinstance(value, list) else [value]
            if (
                not values
                or len(values) > 100
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
            ):
                problems.append(f"metric {name} must have a top-level number (or up to 100 numbers)")
    return problems


def stdout_documents(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every stdout line parsed as JSON (raises if one is not): (log lines, EMF documents)."""
    parsed = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [d for d in parsed if "_aws" not in d], [d for d in parsed if "_aws" in d]


class Daemon:
    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"

    def documents(self) -> list[dict[str, Any]]:
        documents = []
        while True:
            try:
                packet = self.socket.recv(70_000)
            except TimeoutError:
                return documents
            header, _, body = packet.partition(b"\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            assert header + b"\n" == DAEMON_HEADER
            documents.append(json.loads(body))


def refuse_calls(
    monkeypatch: Any,
    client: JsonApiClient,
    code: str,
    *,
    operation: str = "PutItem",
    when: Callable[[dict[str, Any]], bool] = lambda params: True,
) -> None:
    """Make ``client``'s ``operation`` calls for which ``when(params)`` holds fail with ``code``,
    as they would once the client's own retries are spent."""

    def real(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return type(client).call(client, operation, params)  # the class's, as recorders patch it

    def call(name: str, params: dict[str, Any]) -> dict[str, Any]:
        if name == operation and when(params):
            raise ApiCallError(name, code, "injected", 400, {"__type": code, "message": "injected"})
        return real(name, params)

    monkeypatch.setattr(client, "call", call)
