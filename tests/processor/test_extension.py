"""The extension API without the handler: registration, ObjectRef reads on moto, the example steps."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import ClientError

from s3flow.functions.processor.exceptions import StepConfigurationError, StepOutputError
from s3flow.functions.processor.steps import registry as extension
from s3flow.functions.processor.steps.checksum import sha256
from s3flow.functions.processor.steps.content_type import content_type, sniff
from s3flow.functions.processor.steps.registry import (
    ObjectRef,
    load_steps,
    parse_steps,
    register_step,
    storable,
)
from s3flow.functions.shared.errors import ConfigurationError
from s3flow.infra.errors import SettingError
from s3flow.infra.processing import processing_steps_value


@pytest.fixture(autouse=True)
def no_registered_steps():
    extension.clear_registered_steps()
    yield
    extension.clear_registered_steps()


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


def test_parse_steps_reads_module_function_and_optional_names() -> None:
    assert parse_steps(" a.b:f , n=c.d:g ,, ") == [(None, "a.b", "f"), ("n", "c.d", "g")]
    assert parse_steps("") == []


@pytest.mark.parametrize("spec", ["a.b", "a.b:", ":f", "n=a.b"])
def test_parse_steps_rejects_entries_without_module_and_function(spec: str) -> None:
    with pytest.raises(StepConfigurationError):
        parse_steps(spec)


def test_environment_steps_come_first_then_registered_ones() -> None:
    register_step(lambda obj: None, name="mine")

    steps = load_steps("s3flow.functions.processor.steps.checksum:sha256")

    assert [step.name for step in steps] == ["sha256", "mine"]
    assert steps[0].function is sha256


@pytest.mark.parametrize("name", ["", "1st", "has space", "x" * 65, "dot.ted"])
def test_step_names_must_be_simple(name: str) -> None:
    with pytest.raises(StepConfigurationError):
        register_step(lambda obj: None, name=name)


def test_two_steps_with_one_name_are_refused() -> None:
    register_step(lambda obj: None, name="sha256")

    with pytest.raises(ConfigurationError, match="sha256"):
        load_steps("s3flow.functions.processor.steps.checksum:sha256")
    with pytest.raises(StepConfigurationError):
        register_step(lambda obj: None, name="sha256")


def test_a_non_callable_target_is_a_configuration_error() -> None:
    with pytest.raises(StepConfigurationError, match="not callable"):
        load_steps("s3flow.functions.processor.steps.content_type:SNIFF_BYTES")


def test_storable_turns_floats_into_decimals_for_dynamodb() -> None:
    assert storable("s", {"ratio": 0.25, "n": 3, "nested": [{"x": 1.5}]}) == {
        "ratio": Decimal("0.25"),
        "n": 3,
        "nested": [{"x": Decimal("1.5")}],
    }
    assert storable("s", None) == {}


def test_storable_refuses_deep_nesting() -> None:
    deep: dict = {}
    cursor = deep
    for _ in range(extension.MAX_STEP_FIELDS_DEPTH + 1):
        cursor["d"] = {}
        cursor = cursor["d"]

    with pytest.raises(StepOutputError, match="deeper"):
        storable("s", deep)


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


def test_checksum_streams_the_whole_object(aws, uploads) -> None:
    body = bytes(range(256)) * 5000  # over one 1 MiB chunk
    obj = ref(uploads, "big.bin", body)

    assert sha256(obj) == {"sha256": hashlib.sha256(body).hexdigest(), "bytesRead": len(body)}


def test_checksum_refuses_a_size_mismatch(aws, uploads) -> None:
    obj = ref(uploads, "short.bin", b"abc", size=4)

    with pytest.raises(ValueError, match="3 bytes"):
        sha256(obj)


def test_content_type_reads_only_the_first_bytes(aws, uploads, api_calls) -> None:
    obj = ref(uploads, "img", b"\x89PNG\r\n\x1a\n" + b"\x00" * 5000)

    assert content_type(obj) == {"contentType": "image/png", "sniffedBytes": 512}
    [call] = api_calls.of("s3", "GetObject")
    assert call.params["Range"] == "bytes=0-511"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.4", "application/pdf"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"PK\x03\x04rest", "application/zip"),
        (b"\x1f\x8b\x08", "application/gzip"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8", "image/webp"),
        (b'  {"a": 1}', "application/json"),
        ("héllo wörld".encode(), "text/plain"),
        ("é".encode() * 100 + "é".encode()[:1], "text/plain"),  # a character cut by the range
        (b"\x00\x01\x02binary", "application/octet-stream"),
        (b"\xfe\xfe\xfe\xfe plain", "application/octet-stream"),
        (b"", "application/x-empty"),
    ],
)
def test_sniff(head: bytes, expected: str) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(
    "entry",
    [
        "a.b:f",
        "n=a.b:f",
        "n-1=a_b.c2:f_3",
        "a.b",
        "=a.b:f",
        "1n=a.b:f",
        "a..b:f",
        "a.b:f:g",
        "a-b.c:f",
        "n=a.b:",
        "x" * 65 + "=a:f",
    ],
)
def test_the_processor_refuses_exactly_the_step_entries_the_stack_refuses(entry: str) -> None:
    # One grammar (contract.PROCESSING_STEP_ENTRY): an entry the stack let through at synth
    # never fails to parse in the function, and one it refuses is refused there too.
    try:
        processing_steps_value([entry])
        stack_accepts = True
    except SettingError:
        stack_accepts = False
    try:
        parse_steps(entry)
        processor_accepts = True
    except StepConfigurationError:
        processor_accepts = False
    assert stack_accepts == processor_accepts
