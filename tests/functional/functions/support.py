"""Helpers for the functions' functional tests: recorders of API calls, moto set-up (table,
bucket, stream reader), a UDP listener standing in for the X-Ray daemon, refused calls."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from s3flow.functions.shared.aws_api import DYNAMODB, ApiCallError, JsonApiClient
from s3flow.functions.shared.observability.xray import DAEMON_HEADER
from s3flow.testing.records_table import create_table_request
from support.functions import TABLE, load_event


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
