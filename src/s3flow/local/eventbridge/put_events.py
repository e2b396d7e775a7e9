"""``PutEvents``' request as EventBridge checks it, and the event it builds from each entry.

Limits: at most 10 entries and 256 KB per request, sizes counted as in "Calculating
PutEvents event entry size":
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from s3flow.local.errors import RequestRejected

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024


def entry_size(entry: dict[str, Any]) -> int:
    """Entry size as AWS's "Calculating PutEvents event entry size" counts it."""
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        value = entry.get(name)
        if isinstance(value, str):
            size += len(value.encode("utf-8"))
    for resource in entry.get("Resources") or ():
        if isinstance(resource, str):
            size += len(resource.encode("utf-8"))
    return size


def check_request(entries: list[dict[str, Any]]) -> None:
    if len(entries) > MAX_ENTRIES:
        raise RequestRejected(
            "ValidationException",
            "1 validation error detected: Value at 'entries' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_ENTRIES}",
        )
    if sum(entry_size(entry) for entry in entries) > MAX_REQUEST_BYTES:
        raise RequestRejected(
            "ValidationException", "Total size of the entries in the request is over the limit."
        )


def entry_error(entry: dict[str, Any]) -> dict[str, str] | None:
    for name in ("Source", "DetailType", "Detail"):
        if not entry.get(name):
            return {
                "ErrorCode": "InvalidArgument",
                "ErrorMessage": f"Parameter {name} is not valid. Reason: {name} is a required argument.",
            }
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    return None


def iso_time(value: Any = None) -> str:
    """EventBridge's ``time``: ISO-8601 UTC to the second."""
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str) and value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    else:
        moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_event(entry: dict[str, Any], *, account: str, region: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": iso_time(entry.get("Time")),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(entry["Detail"]),
    }
