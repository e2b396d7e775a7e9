"""``put``: which files to send under which keys, and sending them (multipart when large).

Multipart is done by hand rather than through the transfer manager so that every
upload returns the version id S3 assigned to *that* write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s3flow.cli.errors import CliError

MIB = 1024 * 1024
MULTIPART_THRESHOLD = 8 * MIB
PART_SIZE = 5 * MIB  # S3's minimum for every part but the last


@dataclass(frozen=True)
class Upload:
    path: Path
    key: str
    size: int


@dataclass(frozen=True)
class Uploaded:
    key: str
    version_id: str | None
    size: int
    parts: int  # 0: a single PutObject


def plan_uploads(paths: Iterable[Path], prefix: str = "") -> list[Upload]:
    """Files become ``prefix + name``; folders are walked, keys relative to the folder."""
    uploads: list[Upload] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                uploads.append(Upload(file, prefix + file.relative_to(path).as_posix(), file.stat().st_size))
        elif path.is_file():
            uploads.append(Upload(path, prefix + path.name, path.stat().st_size))
        else:
            raise CliError(f"no such file or folder: {path}")
    if not uploads:
        raise CliError("nothing to upload: the folders given are empty")
    return uploads


def upload(
    s3: Any,
    bucket: str,
    item: Upload,
    *,
    on_bytes: Callable[[int], None] | None = None,
    threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
) -> Uploaded:
    progress = on_bytes or (lambda _n: None)
    if item.size < threshold:
        body = item.path.read_bytes()
        response = s3.put_object(Bucket=bucket, Key=item.key, Body=body)
        progress(len(body))
        return Uploaded(item.key, response.get("VersionId"), len(body), 0)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=item.key)["UploadId"]
    try:
        parts = []
        with item.path.open("rb") as stream:
            number = 1
            while chunk := stream.read(part_size):
                etag = s3.upload_part(
                    Bucket=bucket, Key=item.key, UploadId=upload_id, PartNumber=number, Body=chunk
                )["ETag"]
                parts.append({"ETag": etag, "PartNumber": number})
                progress(len(chunk))
                number += 1
        response = s3.complete_multipart_upload(
            Bucket=bucket, Key=item.key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except BaseException:
        s3.abort_multipart_upload(Bucket=bucket, Key=item.key, UploadId=upload_id)
        raise
    return Uploaded(item.key, response.get("VersionId"), item.size, len(parts))
