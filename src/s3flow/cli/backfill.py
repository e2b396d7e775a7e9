"""``backfill``: find object versions that have no record and send them through the processor.

A version's record is found by its ``requestId`` alone (the processor's object id: bucket,
key and version id), with one ``Query`` on the table's partition key, so a record written
from the original S3 event (whatever its event time) counts. The rebuilt event carries the
version's ``LastModified`` as its event time, so two backfills of the same version write the
same item key and the processor's conditional write keeps one: safe to run twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from botocore.exceptions import ClientError

from s3flow.cli.queries import has_record
from s3flow.cli.s3events import cli_record
from s3flow.cli.target import Target
from s3flow.functions.processor.records import object_id
from s3flow.functions.processor.time_index import format_timestamp

# Well under Lambda's 1 MB limit on an asynchronous invocation's payload (API_Invoke).
MAX_PAYLOAD_BYTES = 200 * 1024
MAX_RECORDS_PER_INVOKE = 25

Sent = TypeVar("Sent")  # what a caller sends each S3 record for (an object version, a record)


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str | None  # None: written before versioning was enabled ("null")
    size: int
    etag: str
    last_modified: datetime

    def object_id(self, bucket: str) -> str:
        return object_id(bucket, self.key, self.version_id, None, self.etag)


@dataclass
class BackfillSummary:
    listed: int = 0
    recorded: int = 0  # already had a record
    sent: list[ObjectVersion] = field(default_factory=list)
    invocations: int = 0
    rejected: list[ObjectVersion] = field(default_factory=list)


def list_versions(s3: Any, bucket: str, prefix: str = "") -> Iterator[ObjectVersion]:
    """Every object version under the prefix, newest first per key (as S3 lists them); delete
    markers are skipped."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            vid = version.get("VersionId")
            yield ObjectVersion(
                key=version["Key"],
                version_id=None if vid in (None, "null") else vid,
                size=int(version.get("Size", 0)),
                etag=str(version.get("ETag", "")).strip('"'),
                last_modified=version["LastModified"].astimezone(UTC),
            )


def event_record(version: ObjectVersion, bucket: str, region: str) -> dict[str, Any]:
    return cli_record(
        bucket=bucket,
        region=region,
        key=version.key,
        size=version.size,
        event_time=format_timestamp(version.last_modified),
        version_id=version.version_id,
        etag=version.etag,
        configuration_id="s3flow-backfill",
    )


def batches(records: Iterable[tuple[Sent, dict[str, Any]]]) -> Iterator[list[tuple[Sent, dict[str, Any]]]]:
    """Groups of records whose event stays under the async payload limit."""
    batch: list[tuple[Sent, dict[str, Any]]] = []
    size = len(json.dumps({"Records": []}))
    for item in records:
        record_size = len(json.dumps(item[1]).encode("utf-8")) + 1
        if batch and (len(batch) >= MAX_RECORDS_PER_INVOKE or size + record_size > MAX_PAYLOAD_BYTES):
            yield batch
            batch, size = [], len(json.dumps({"Records": []}))
        batch.append(item)
        size += record_size
    if batch:
        yield batch


@dataclass
class Invoked(Generic[Sent]):
    accepted: list[Sent] = field(default_factory=list)
    rejected: list[Sent] = field(default_factory=list)  # their invoke was refused
    invocations: int = 0


def invoke_in_batches(target: Target, records: Iterable[tuple[Sent, dict[str, Any]]]) -> Invoked[Sent]:
    """Send the S3 records to the processor, one asynchronous invoke per batch (``batches``);
    each record's ``Sent`` is counted accepted or rejected with its batch."""
    function = target.output("LambdaFunctionName")
    invoked: Invoked[Sent] = Invoked()
    for batch in batches(records):
        payload = json.dumps({"Records": [record for _, record in batch]}).encode("utf-8")
        try:
            accepted = (
                target.client("lambda")
                .invoke(FunctionName=function, InvocationType="Event", Payload=payload)
                .get("StatusCode")
                == 202
            )
        except ClientError:
            accepted = False
        invoked.invocations += 1
        (invoked.accepted if accepted else invoked.rejected).extend(sent for sent, _ in batch)
    return invoked


def backfill(
    target: Target,
    *,
    bucket: str | None = None,
    prefix: str = "",
    dry_run: bool = False,
    on_version: Callable[[ObjectVersion, bool], None] | None = None,
) -> BackfillSummary:
    """List, find versions without a record, and (unless ``dry_run``) invoke the function with them."""
    bucket = bucket or target.output("S3BucketName")
    table = target.output("DynamoDBTableName")
    s3, dynamodb = target.client("s3"), target.client("dynamodb")
    region = target.session.region_name or "us-east-1"
    summary = BackfillSummary()
    missing: list[tuple[ObjectVersion, dict[str, Any]]] = []
    for version in list_versions(s3, bucket, prefix):
        summary.listed += 1
        recorded = has_record(dynamodb, table, version.object_id(bucket))
        if recorded:
            summary.recorded += 1
        else:
            missing.append((version, event_record(version, bucket, region)))
        if on_version:
            on_version(version, recorded)
    if dry_run:
        summary.sent = [version for version, _ in missing]
        return summary
    invoked = invoke_in_batches(target, missing)
    summary.sent, summary.rejected = invoked.accepted, invoked.rejected
    summary.invocations = invoked.invocations
    return summary
