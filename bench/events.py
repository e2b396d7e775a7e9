"""S3 notification events shaped like AWS's, built from objects really uploaded to the emulator."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

REGION = "us-east-1"


def trace_header() -> str:
    """A sampled Lambda trace header, new per invocation as Lambda sets it."""
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled=1"


def s3_record(
    bucket: str, key: str, size: int, etag: str, version_id: str | None, sequence: int
) -> dict[str, Any]:
    now = datetime.now(UTC)
    obj: dict[str, Any] = {
        "key": quote_plus(key, safe="/"),
        "size": size,
        "eTag": etag.strip('"'),
        "sequencer": f"{int(now.timestamp() * 1e6):X}{sequence:06X}",
    }
    if version_id:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEBENCH"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": os.urandom(8).hex().upper(),
            "x-amz-id-2": os.urandom(24).hex(),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "bench-notification",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3EXAMPLEBENCH"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


class ObjectFactory:
    """Uploads small objects with unique keys and returns the S3 events announcing them."""

    def __init__(self, s3_client: Any, bucket: str, prefix: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._prefix = prefix
        self._count = 0

    def event(self, records: int) -> dict[str, Any]:
        batch = []
        for _ in range(records):
            self._count += 1
            key = f"{self._prefix}/data file {self._count:07d}.json"  # a space: keys arrive URL-encoded
            body = b'{"n": %d}' % self._count
            put = self._s3.put_object(Bucket=self._bucket, Key=key, Body=body)
            batch.append(
                s3_record(self._bucket, key, len(body), put["ETag"], put.get("VersionId"), self._count)
            )
        return {"Records": batch}
