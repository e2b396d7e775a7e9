"""The extension API without the handler: ObjectRef reads on a moto bucket. The example steps
themselves run on bytes with the run_step fixture (tests/unit/testing/test_run_step.py)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from s3flow.functions.processor.steps.checksum import sha256
from s3flow.functions.processor.steps.registry import ObjectRef


def ref(uploads, key: str, body: bytes, **overrides) -> ObjectRef:
    record = uploads.put(key, body)["s3"]["object"]
    fields = {
        "bucket": uploads.bucket,
        "key": key,
        "version_id": record.get("versionId"),
        "size": record["size"],
        "etag": record["eTag"],
        "client_factory": lambda: uploads.s3,
        **overrides,
    }
    return ObjectRef(**fields)


def test_read_returns_the_requested_range(aws, uploads, api_calls) -> None:
    obj = ref(uploads, "r.bin", b"0123456789")

    assert obj.read(0, 4) == b"0123"
    assert obj.read(7) == b"789"
    assert obj.read(8, 100) == b"89"
    assert obj.read(10) == b""
    assert obj.read(3, 0) == b""
    gets = api_calls.of("s3", "GetObject")
    assert [call.params["Range"] for call in gets] == ["bytes=0-3", "bytes=7-9", "bytes=8-9"]
    assert {call.params["VersionId"] for call in gets} == {obj.version_id}


def test_read_of_an_empty_object_makes_no_call(aws, uploads, api_calls) -> None:
    obj = ref(uploads, "empty", b"")

    assert obj.read() == b""
    assert api_calls.of("s3", "GetObject") == []


def test_read_refuses_negative_offsets(aws, uploads) -> None:
    obj = ref(uploads, "n", b"abc")

    with pytest.raises(ValueError):
        obj.read(-1)


def test_unversioned_reads_fail_if_the_object_was_replaced(aws, uploads) -> None:
    obj = ref(uploads, "plain.txt", b"old", version_id=None)
    assert obj.read(0, 3) == b"old"
    uploads.s3.put_object(Bucket=uploads.bucket, Key="plain.txt", Body=b"new!")

    with pytest.raises(ClientError) as raised:
        obj.read(0, 3)

    assert raised.value.response["Error"]["Code"] == "PreconditionFailed"


def test_the_s3_client_is_created_only_when_a_step_reads(aws) -> None:
    created: list[str] = []

    def factory():
        created.append("s3")
        return boto3.client("s3")

    obj = ObjectRef(bucket="b", key="k", version_id="v", size=0, etag=None, client_factory=factory)

    assert obj.read() == b"" and created == []


def test_checksum_refuses_a_size_mismatch(aws, uploads) -> None:
    obj = ref(uploads, "short.bin", b"abc", size=4)

    with pytest.raises(ValueError, match="3 bytes"):
        sha256(obj)
