"""The S3 ``ObjectCreated`` notification record, built and read back in one place.

Used by the emulator's S3 hop (each observed write) and by the CLI (the demo's redelivery,
``backfill`` handing an existing version to the processor again), so both encode keys and
fill fields the same way. Event structure:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
"""

from __future__ import annotations

import urllib.parse
from typing import Any


def encode_key(key: str) -> str:
    """The key as S3 event notifications carry it: form-encoded, ``/`` kept."""
    return urllib.parse.quote_plus(key, safe="/*").replace("~", "%7E")


def s3_record(
    *,
    bucket: str,
    region: str,
    key: str,
    size: int,
    event_time: str,
    event_name: str = "ObjectCreated:Put",
    version_id: str | None = None,
    etag: str | None = None,
    sequencer: str | None = None,
    configuration_id: str,
    principal: str,
    source_ip: str,
    request_id: str,
    host_id: str,
    owner: str,
) -> dict[str, Any]:
    """One record of an S3 event (``{"Records": [...]}`` holds it); a ``null`` or absent
    version (an unversioned bucket) and an absent eTag or sequencer are left out, as S3 does."""
    obj: dict[str, Any] = {"key": encode_key(key), "size": int(size)}
    if etag:
        obj["eTag"] = etag.strip('"')
    if version_id and version_id != "null":
        obj["versionId"] = version_id
    if sequencer:
        obj["sequencer"] = sequencer
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": event_time,
        "eventName": event_name,
        "userIdentity": {"principalId": principal},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": owner},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


def objects_in(event: Any) -> list[tuple[str, str, str | None]]:
    """(bucket, decoded key, version id) of each S3 record in a Lambda event."""
    found = []
    records = event.get("Records") if isinstance(event, dict) else None
    for record in records or ():
        s3 = record.get("s3") if isinstance(record, dict) else None
        if not isinstance(s3, dict):
            continue
        obj = s3.get("object") or {}
        found.append(
            (
                (s3.get("bucket") or {}).get("name", ""),
                urllib.parse.unquote_plus(obj.get("key", "")),
                obj.get("versionId"),
            )
        )
    return found
