"""Parse an S3 notification event into typed records; no I/O.

Each record becomes exactly one of:
- ``ObjectRecord``: an ``ObjectCreated:*`` record from ``aws:s3`` with every field we need;
- ``IgnoredRecord``: not ours to process (the ``s3:TestEvent`` message S3 sends when a
  notification is configured, or a record from another event source);
- ``InvalidRecord``: an ``aws:s3`` record we cannot process; it becomes an error item and
  an error event so it is never silently lost.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

S3_EVENT_SOURCE = "aws:s3"
TEST_EVENT = "s3:TestEvent"
OBJECT_CREATED_PREFIX = "ObjectCreated:"
EXCERPT_LIMIT = 2048


@dataclass(frozen=True)
class ObjectRecord:
    bucket: str
    key: str
    version_id: str | None
    size: int
    etag: str | None
    sequencer: str | None
    event_time: datetime
    event_name: str
    region: str | None

    @property
    def object_id(self) -> str:
        return object_id(self.bucket, self.key, self.version_id, self.sequencer, self.etag)


@dataclass(frozen=True)
class IgnoredRecord:
    reason: str


@dataclass(frozen=True)
class InvalidRecord:
    message: str
    excerpt: str
    error_id: str
    event_time: datetime | None = None
    event_name: str | None = None


ParsedRecord = ObjectRecord | IgnoredRecord | InvalidRecord


def object_id(bucket: str, key: str, version_id: str | None, sequencer: str | None, etag: str | None) -> str:
    """Hex sha256 naming one object version: bucket, key and the best discriminator S3 gave.

    The parts are JSON-encoded as a list so no choice of characters in a key can make two
    different objects collide (``("a/b", "c")`` vs ``("a", "b/c")``).
    """
    if version_id:
        discriminator = ["version", version_id]
    elif sequencer:
        discriminator = ["sequencer", sequencer]
    else:
        discriminator = ["etag", etag or ""]
    payload = json.dumps([bucket, key, *discriminator], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def error_digest(raw: Any) -> str:
    """Hex sha256 of a raw record's canonical JSON: the same bad record gets the same id."""
    return hashlib.sha256(canonical_json(raw).encode("utf-8")).hexdigest()


def excerpt(raw: Any, limit: int = EXCERPT_LIMIT) -> str:
    text = canonical_json(raw)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"eventTime must be a string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    if parsed.tzinfo is None:
        raise ValueError(f"eventTime {value!r} has no time zone")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. year 1 at +01:00: before the first instant datetime holds
        raise ValueError(f"eventTime {value!r} is out of range in UTC") from None


def parse_event(event: Any) -> list[ParsedRecord]:
    """One parsed record per input record; the S3 test message yields one IgnoredRecord."""
    if isinstance(event, dict) and event.get("Event") == TEST_EVENT and "Records" not in event:
        return [IgnoredRecord(reason=TEST_EVENT)]
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        return [_invalid(event, "event has no Records list and is not an S3 test event")]
    return [parse_record(record) for record in records]


def parse_record(raw: Any) -> ParsedRecord:
    if not isinstance(raw, dict):
        return _invalid(raw, f"record must be an object, got {type(raw).__name__}")
    source = raw.get("eventSource")
    if source != S3_EVENT_SOURCE:
        return IgnoredRecord(reason=f"eventSource {source!r} is not {S3_EVENT_SOURCE}")
    try:
        return _object_record(raw)
    except (KeyError, TypeError, ValueError) as error:
        return _invalid(raw, _describe(error))


def _object_record(raw: dict[str, Any]) -> ObjectRecord:
    event_name = raw["eventName"]
    if not isinstance(event_name, str) or not event_name.startswith(OBJECT_CREATED_PREFIX):
        raise ValueError(f"eventName {event_name!r} is not an {OBJECT_CREATED_PREFIX}* event")
    event_time = parse_time(raw["eventTime"])
    s3 = raw["s3"]
    bucket = _text(s3["bucket"]["name"], "s3.bucket.name")
    obj = s3["object"]
    key = unquote_plus(_text(obj["key"], "s3.object.key"))
    size = obj["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"s3.object.size must be a non-negative integer, got {size!r}")
    version_id = _optional_text(obj.get("versionId"), "s3.object.versionId")
    sequencer = _optional_text(obj.get("sequencer"), "s3.object.sequencer")
    etag = _optional_text(obj.get("eTag"), "s3.object.eTag")
    if not (version_id or sequencer or etag):
        raise ValueError("record has none of versionId, sequencer or eTag to identify the object")
    region = raw.get("awsRegion")
    return ObjectRecord(
        bucket=bucket,
        key=key,
        version_id=version_id,
        size=size,
        etag=etag,
        sequencer=sequencer,
        event_time=event_time,
        event_name=event_name,
        region=region if isinstance(region, str) else None,
    )


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _optional_text(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    return _text(value, name)


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"record is missing field {error.args[0]!r}"
    if isinstance(error, TypeError):
        return f"record has a field of the wrong type: {error}"
    return str(error)


def _invalid(raw: Any, message: str) -> InvalidRecord:
    event_time = event_name = None
    if isinstance(raw, dict):
        try:
            event_time = parse_time(raw.get("eventTime"))
        except ValueError:
            event_time = None
        name = raw.get("eventName")
        event_name = name if isinstance(name, str) else None
    return InvalidRecord(
        message=message,
        excerpt=excerpt(raw),
        error_id=error_digest(raw),
        event_time=event_time,
        event_name=event_name,
    )
