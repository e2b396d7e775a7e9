"""Example step: the object's SHA-256, streamed with one GetObject (VersionId pinned).

The object is read in 1 MiB chunks, so memory stays flat for any object size; time grows
with the size (network bound), so size the function's timeout for the largest objects
expected before enabling it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from s3flow.functions.processor.steps.registry import ObjectRef


def sha256(obj: ObjectRef) -> dict[str, Any]:
    digest = hashlib.sha256()
    read = 0
    for chunk in obj.stream():
        digest.update(chunk)
        read += len(chunk)
    if read != obj.size:
        raise ValueError(f"read {read} bytes but the S3 record says {obj.size}")
    return {"sha256": digest.hexdigest(), "bytesRead": read}
