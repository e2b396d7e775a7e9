"""S3 ``ObjectCreated`` notifications built by hand, shaped exactly as S3 sends them.

Used to hand the function an object version again (the demo's redelivery, backfill):
the key is URL-encoded the way S3 encodes it (space as ``+``, ``+`` as ``%2B``, UTF-8
percent-escapes, ``/`` kept).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus


def s3_record(
    *,
    bucket: str,
    region: str,
    key: str,
    size: int,
    event_time: str,
    version_id: str | None = None,
    etag: str | None = None,
    sequencer: str | None = None,
    event_name: str = "ObjectCreated:Put",
    configuration_id: str = "s3flow-cli",
) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": int(size)}
    if etag:
        obj["eTag"] = etag.strip('"')
    if version_id:
        obj["versionId"] = version_id
    if sequencer:
        obj["sequencer"] = sequencer
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": event_time,
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:s3flow-cli"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "s3flowcli", "x-amz-id-2": "s3flowcli"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "s3flow"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }
