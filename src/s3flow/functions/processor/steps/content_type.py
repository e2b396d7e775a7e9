"""Example step: the content type sniffed from the object's first bytes (one ranged GetObject).

Trusts the bytes, not the key's extension or the uploader's Content-Type header.
"""

from __future__ import annotations

from typing import Any

from s3flow.functions.processor.steps.registry import ObjectRef

SNIFF_BYTES = 512
# (offset, magic bytes, media type); the first match wins.
SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (257, b"ustar", "application/x-tar"),
    (0, b"\x7fELF", "application/x-elf"),
    (4, b"ftyp", "video/mp4"),
)


def sniff(head: bytes) -> str:
    for offset, magic, media_type in SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if b"\x00" in head:
        return "application/octet-stream"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "application/json"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        if error.start < len(head) - 3:
            return "application/octet-stream"
    return "text/plain" if head else "application/x-empty"


def content_type(obj: ObjectRef) -> dict[str, Any]:
    head = obj.read(0, SNIFF_BYTES)
    return {"contentType": sniff(head), "sniffedBytes": len(head)}
