"""S3: every version of every object, and delete markers, in the emulator's buckets.

Kept per version, in the bucket's order: key, version id, ETag (a multipart upload's
``"…-N"`` too), body (by SHA-256, ``files.StateFolder``), metadata (Content-Type and user
metadata), last-modified time, storage class, server-side encryption settings, checksum, lock
settings and tags. Restored straight into moto's model, so S3 sends no notification for
them. Not kept: uploads in progress (multipart), object ACLs (every object is private here).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from s3flow.local.state.files import StateFolder
from s3flow.local.state.times import epoch, naive_utc


def _backend(account: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[account]["global"]


def _body(version: Any) -> bytes:
    return bytes(version.value)


def export(account: str, folder: StateFolder) -> dict[str, Any]:
    """{bucket: [version, ...]} of every bucket in the emulator."""
    from moto.s3.models import FakeDeleteMarker

    backend = _backend(account)
    buckets: dict[str, Any] = {}
    for name, bucket in list(backend.buckets.items()):
        versions: list[dict[str, Any]] = []
        for key_name in list(bucket.keys.keys()):
            for version in list(bucket.keys.getlist(key_name, [])):
                if isinstance(version, FakeDeleteMarker):
                    versions.append(
                        {
                            "key": key_name,
                            "delete_marker": True,
                            "version_id": version.version_id,
                            "last_modified": epoch(version.last_modified),
                        }
                    )
                    continue
                tags = backend.tagger.list_tags_for_resource(version.arn).get("Tags", [])
                versions.append(
                    {
                        "key": key_name,
                        "version_id": version._version_id,
                        "body": folder.put_body_of(
                            (name, key_name, version._version_id, version.etag, version.last_modified),
                            partial(_body, version),
                        ),
                        "etag": version.etag.strip('"'),
                        "metadata": dict(version.metadata),
                        "last_modified": epoch(version.last_modified),
                        "storage_class": version.storage_class,
                        "encryption": version.encryption,
                        "kms_key_id": version.kms_key_id,
                        "bucket_key_enabled": version.bucket_key_enabled,
                        "checksum_algorithm": version.checksum_algorithm,
                        "checksum_value": version.checksum_value,
                        "lock_mode": version.lock_mode,
                        "lock_legal_status": version.lock_legal_status,
                        "lock_until": version.lock_until,
                        "tags": tags,
                    }
                )
        buckets[name] = versions
    return buckets


def restore(account: str, region: str, saved: dict[str, Any], folder: StateFolder) -> list[str]:
    """Puts the saved versions back into the buckets that exist; what could not be, in words."""
    from moto.s3.models import FakeDeleteMarker, FakeKey

    backend = _backend(account)
    missing: list[str] = []
    for name, versions in saved.items():
        bucket = backend.buckets.get(name)
        if bucket is None:
            if versions:
                missing.append(f"bucket {name} (object versions: {len(versions)})")
            continue
        by_key: dict[str, list[Any]] = {}
        for entry in versions:
            chain = by_key.setdefault(entry["key"], [])
            if entry.get("delete_marker"):
                # moto's marker keeps the key it hides; its name is all a listing reads of it.
                hidden = chain[-1] if chain else FakeKey(entry["key"], b"", account, region, bucket_name=name)
                marker = FakeDeleteMarker(hidden)
                marker._version_id = entry["version_id"]
                marker.last_modified = naive_utc(entry["last_modified"])
                chain.append(marker)
                continue
            key = FakeKey(
                name=entry["key"],
                value=folder.get_body(entry["body"]),
                account_id=account,
                region_name=region,
                storage=entry.get("storage_class"),
                etag=entry["etag"],
                is_versioned=bucket.is_versioned,
                version_id=entry["version_id"],
                bucket_name=name,
                encryption=entry.get("encryption"),
                kms_key_id=entry.get("kms_key_id"),
                bucket_key_enabled=entry.get("bucket_key_enabled"),
                lock_mode=entry.get("lock_mode"),
                lock_legal_status=entry.get("lock_legal_status"),
                lock_until=entry.get("lock_until"),
                checksum_value=entry.get("checksum_value"),
            )
            key.checksum_algorithm = entry.get("checksum_algorithm")
            key.set_metadata(dict(entry.get("metadata") or {}))  # over the default Content-Type
            key.last_modified = naive_utc(entry["last_modified"])
            if entry.get("tags"):
                backend.tagger.tag_resource(key.arn, entry["tags"])
            chain.append(key)
        for key_name, chain in by_key.items():
            bucket.keys.setlist(key_name, chain)
    return missing
