"""Running one processing step on bytes, as the processor runs it, with no AWS at all.

``run_step(step, data)`` builds the processor's own ``ObjectRef`` over an in-memory object,
calls the step, and keeps its output with the processor's own ``storable`` (numbers as
DynamoDB holds them, the size and depth limits, ``StepOutputError``). A step that raises
raises here too, its exception unchanged, with a note of what the processor would store
(the registry's ``failure``). The ``s3flow.testing.plugin`` fixture ``run_step`` is this
function.

The object's reads go to ``MemoryS3``, which answers ``get_object`` and ``head_object`` as
S3 does for one versioned object: ranges, ``VersionId`` and ``IfMatch``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from s3flow.functions.processor.exceptions import StepConfigurationError
from s3flow.functions.processor.steps import registry
from s3flow.functions.processor.steps.registry import ObjectRef, Step

DEFAULT_BUCKET = "s3flow-test-bucket"
DEFAULT_VERSION_ID = "test-version-1"


def etag_of(data: bytes) -> str:
    """The ETag S3 gives an object uploaded in one part: the MD5 of its bytes, in hex."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class S3Error(Exception):
    """An S3 error answer. When botocore is installed, ``MemoryS3`` raises its ``ClientError``
    instead (the same ``response["Error"]["Code"]``), which is what a step on AWS catches."""

    def __init__(self, response: dict[str, Any], operation: str) -> None:
        super().__init__(
            f"An error occurred ({response['Error']['Code']}) when calling the {operation} operation"
        )
        self.response = response
        self.operation_name = operation


def _error(code: str, message: str, status: int, operation: str) -> Exception:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    try:
        from botocore.exceptions import ClientError
    except ImportError:  # the package alone (the Lambda asset's set): no botocore
        return S3Error(response, operation)
    return ClientError(response, operation)  # type: ignore[arg-type]


class MemoryBody:
    """The part of botocore's ``StreamingBody`` steps use: read, iter_chunks, iter_lines, close."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0
        self.closed = False

    def read(self, amt: int | None = None) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed body")
        end = len(self._data) if amt is None else min(len(self._data), self._position + amt)
        chunk = self._data[self._position : end]
        self._position = end
        return chunk

    def iter_chunks(self, chunk_size: int = 1024) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk

    def iter_lines(self, chunk_size: int = 1024, keepends: bool = False) -> Iterator[bytes]:
        pending = b""
        for chunk in self.iter_chunks(chunk_size):
            lines = (pending + chunk).splitlines(True)
            pending = lines.pop() if lines and not lines[-1].endswith((b"\n", b"\r")) else b""
            for line in lines:
                yield line if keepends else line.splitlines()[0]
        if pending:
            yield pending

    def close(self) -> None:
        self.closed = True


class MemoryS3:
    """One object version in memory, read as GetObject reads it.

    https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html: ``Range`` is one
    ``bytes=first-last`` (inclusive; a last past the end is cut to the end), ``bytes=first-``
    or ``bytes=-suffix``; a first at or past the end is ``InvalidRange`` (416). ``VersionId``
    of another version is ``NoSuchVersion``; ``IfMatch`` with another ETag is
    ``PreconditionFailed`` (412). Another bucket or key is ``NoSuchKey``.
    """

    def __init__(self, bucket: str, key: str, data: bytes, version_id: str | None) -> None:
        self.bucket, self.key, self.data, self.version_id = bucket, key, data, version_id
        self.etag = etag_of(data)
        self.calls: list[dict[str, Any]] = []

    def _check(self, operation: str, params: Mapping[str, Any]) -> None:
        if params.get("Bucket") != self.bucket or params.get("Key") != self.key:
            raise _error("NoSuchKey", "The specified key does not exist.", 404, operation)
        version = params.get("VersionId")
        if version is not None and version != self.version_id:
            raise _error("NoSuchVersion", "The specified version does not exist.", 404, operation)
        match = params.get("IfMatch")
        if match is not None and match.strip('"') != self.etag and match != "*":
            raise _error(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                412,
                operation,
            )

    def _range(self, spec: str) -> tuple[int, int]:
        """(first, last) of a ``bytes=`` range, inclusive, cut to the object."""
        size = len(self.data)
        unit, _, span = spec.partition("=")
        first_text, dash, last_text = span.partition("-")
        if unit.strip() != "bytes" or not dash or "," in span:
            raise ValueError(f"MemoryS3 reads one bytes= range, not {spec!r}")
        if not first_text:  # the last N bytes
            suffix = int(last_text)
            if suffix == 0:
                raise _error("InvalidRange", "The requested range is not satisfiable", 416, "GetObject")
            return max(0, size - suffix), size - 1
        first = int(first_text)
        last = size - 1 if not last_text else min(size - 1, int(last_text))
        if first >= size or last < first:
            raise _error("InvalidRange", "The requested range is not satisfiable", 416, "GetObject")
        return first, last

    def _head(self, length: int) -> dict[str, Any]:
        answer: dict[str, Any] = {"ContentLength": length, "ETag": f'"{self.etag}"'}
        if self.version_id is not None:
            answer["VersionId"] = self.version_id
        return answer

    def get_object(self, **params: Any) -> dict[str, Any]:
        self.calls.append(dict(params))
        self._check("GetObject", params)
        if "Range" not in params:
            return {**self._head(len(self.data)), "Body": MemoryBody(self.data)}
        first, last = self._range(params["Range"])
        answer = self._head(last - first + 1)
        answer["ContentRange"] = f"bytes {first}-{last}/{len(self.data)}"
        return {**answer, "Body": MemoryBody(self.data[first : last + 1])}

    def head_object(self, **params: Any) -> dict[str, Any]:
        self.calls.append(dict(params))
        self._check("HeadObject", params)
        return self._head(len(self.data))

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"run_step's in-memory S3 answers get_object and head_object only, not {name}: "
            "test a step that calls other services with the s3flow_pipeline fixture"
        )


def resolve(step: Step | str, name: str | None = None) -> tuple[str, Step]:
    """(name, function) of a callable or of one ``module:function`` / ``name=module:function``
    entry, named and checked as the processor's registry names and checks them."""
    if isinstance(step, str):
        # The registry's own import of S3FLOW_PROCESSING_STEPS entries (its checks, its errors).
        steps = registry.import_steps(step)
        if len(steps) != 1:
            raise StepConfigurationError(f"run_step runs one step, not {len(steps)}: {step!r}")
        return registry.check_name(name or steps[0].name), steps[0].function
    if not callable(step):
        raise StepConfigurationError(f"a step is a callable or 'module:function', not {type(step).__name__}")
    return registry.check_name(name or str(getattr(step, "__name__", ""))), step


def run_step(
    step: Step | str,
    data: bytes | bytearray | memoryview | Path,
    key: str = "object",
    *,
    bucket: str = DEFAULT_BUCKET,
    version_id: str | None = DEFAULT_VERSION_ID,
    name: str | None = None,
    s3: Any = None,
) -> dict[str, Any]:
    """The fields the processor would store for ``step`` on an object holding ``data``.

    ``data``: the object's bytes, or a file whose bytes they are. ``version_id=None`` reads
    it as an unversioned bucket's object (pinned by ETag, ``IfMatch``). ``s3``: the client
    the step's reads go to (default: a ``MemoryS3`` of ``data``; pass one to see its ``calls``).
    """
    body = Path(data).read_bytes() if isinstance(data, Path) else bytes(data)
    step_name, function = resolve(step, name)
    client = s3 if s3 is not None else MemoryS3(bucket, key, body, version_id)
    ref = ObjectRef(
        bucket=bucket,
        key=key,
        version_id=version_id,
        size=len(body),
        etag=etag_of(body),
        client_factory=lambda: client,
    )
    try:
        return registry.run_step(registry.RegisteredStep(step_name, function), ref)
    except Exception as error:
        failed = registry.failure(step_name, error)
        error.add_note(
            f"the processor stores: step={failed.step!r} errorType={failed.error_type!r} "
            f"message={failed.message!r}"
        )
        raise
