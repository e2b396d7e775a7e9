"""The run_step fixture of the s3flow pytest plugin: one step on bytes, as the processor runs it,
with no AWS (the unit tier refuses sockets). Its reads go to an in-memory GetObject."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from s3flow.functions.processor.exceptions import StepConfigurationError, StepOutputError
from s3flow.functions.processor.steps.registry import MAX_STEP_FIELDS_BYTES, ObjectRef
from s3flow.testing.steps import MemoryS3, etag_of

pytest_plugins = ["pytester"]

CHECKSUM = "s3flow.functions.processor.steps.checksum:sha256"


def measures(obj: ObjectRef) -> dict[str, Any]:
    return {"head": obj.read(0, 4).decode(), "size": obj.size, "ratio": 0.1, "exact": Decimal("1.50")}


def test_the_fields_come_back_as_stored_floats_as_decimals_decimals_kept(run_step) -> None:
    assert run_step(measures, b"hello world") == {
        "head": "hell",
        "size": 11,
        "ratio": Decimal("0.1"),
        "exact": Decimal("1.50"),
    }


def test_a_step_returning_none_stores_nothing(run_step) -> None:
    assert run_step(lambda obj: None, b"x", name="nothing") == {}


def test_data_may_be_a_file(run_step, tmp_path: Path) -> None:
    path = tmp_path / "sample.csv"
    path.write_bytes(b'a,b\r\n1,"two\nlines"\r\n')

    rows = run_step(lambda obj: {"rows": list(obj.csv_rows())}, path, "in/sample.csv", name="rows")

    assert rows == {"rows": [["a", "b"], ["1", "two\nlines"]]}


def test_an_entry_string_is_imported_as_the_processor_imports_it(run_step) -> None:
    body = bytes(range(256)) * 5000  # over one 1 MiB chunk: streamed in two
    expected = {"sha256": hashlib.sha256(body).hexdigest(), "bytesRead": len(body)}

    assert run_step(CHECKSUM, body) == expected
    assert run_step(f"digest={CHECKSUM}", body) == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("no.such.module:f", "cannot import"),
        ("s3flow.functions.processor.steps.content_type:SNIFF_BYTES", "not callable"),
        (f"{CHECKSUM}, s3flow.functions.processor.steps.content_type:content_type", "one step"),
        ("a.b", "not 'module:function'"),
    ],
)
def test_a_bad_entry_is_the_processors_configuration_error(run_step, entry: str, message: str) -> None:
    with pytest.raises(StepConfigurationError, match=message):
        run_step(entry, b"x")


def test_a_step_that_raises_raises_its_own_error_noting_what_would_be_stored(run_step) -> None:
    def picky(obj: ObjectRef) -> dict[str, Any]:
        raise RuntimeError("cannot parse " + obj.key)

    with pytest.raises(RuntimeError, match="cannot parse bad.txt") as raised:
        run_step(picky, b"data", "bad.txt")

    assert raised.value.__notes__ == [
        "the processor stores: step='picky' errorType='RuntimeError' message='cannot parse bad.txt'"
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (["not", "a", "mapping"], "not a mapping"),
        ({"big": "x" * MAX_STEP_FIELDS_BYTES}, f"over {MAX_STEP_FIELDS_BYTES}"),
        ({"n": float("nan")}, "not JSON"),
        ({"n": Decimal("1E+200")}, "cannot store exactly"),
    ],
)
def test_output_the_processor_cannot_store_is_its_step_output_error(
    run_step, fields: Any, message: str
) -> None:
    with pytest.raises(StepOutputError, match=message):
        run_step(lambda obj: fields, b"x", name="bad")


def test_reads_are_ranged_get_objects_pinned_to_the_version(run_step) -> None:
    memory = MemoryS3("bucket", "r.bin", b"0123456789", "v1")

    def ranges(obj: ObjectRef) -> dict[str, Any]:
        return {
            "parts": [
                obj.read(0, 4).decode(),
                obj.read(7).decode(),
                obj.read(8, 100).decode(),
                obj.read(10).decode(),
            ]
        }

    fields = run_step(ranges, b"0123456789", "r.bin", bucket="bucket", version_id="v1", s3=memory)

    assert fields == {"parts": ["0123", "789", "89", ""]}
    assert [call["Range"] for call in memory.calls] == ["bytes=0-3", "bytes=7-9", "bytes=8-9"]
    assert {call["VersionId"] for call in memory.calls} == {"v1"}


def test_content_type_reads_only_the_first_bytes(run_step) -> None:
    body = b"\x89PNG\r\n\x1a\n" + b"\x00" * 5000
    memory = MemoryS3("bucket", "img", body, "v1")

    fields = run_step(
        "s3flow.functions.processor.steps.content_type:content_type",
        body,
        "img",
        bucket="bucket",
        version_id="v1",
        s3=memory,
    )

    assert fields == {"contentType": "image/png", "sniffedBytes": 512}
    [call] = memory.calls
    assert call["Range"] == "bytes=0-511"


def test_an_unversioned_object_is_pinned_by_its_etag(run_step) -> None:
    memory = MemoryS3("bucket", "plain.txt", b"old", None)

    assert run_step(
        lambda obj: {"text": obj.read().decode()},
        b"old",
        "plain.txt",
        bucket="bucket",
        version_id=None,
        s3=memory,
        name="text",
    ) == {"text": "old"}
    assert memory.calls[0]["IfMatch"] == f'"{etag_of(b"old")}"'


def test_a_replaced_object_fails_the_pinned_read_as_s3_does(run_step) -> None:
    replaced = MemoryS3("bucket", "plain.txt", b"new!", None)

    with pytest.raises(ClientError) as raised:
        run_step(
            lambda obj: {"t": obj.read()},
            b"old",
            "plain.txt",
            bucket="bucket",
            version_id=None,
            s3=replaced,
            name="t",
        )

    assert raised.value.response["Error"]["Code"] == "PreconditionFailed"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"VersionId": "v0"}, "NoSuchVersion"),
        ({"Key": "other"}, "NoSuchKey"),
        ({"Range": "bytes=10-"}, "InvalidRange"),
        ({"IfMatch": '"0123"'}, "PreconditionFailed"),
    ],
)
def test_memory_s3_answers_get_object_errors_as_s3(params: dict[str, Any], code: str) -> None:
    memory = MemoryS3("bucket", "k", b"0123456789", "v1")

    with pytest.raises(ClientError) as raised:
        memory.get_object(**{"Bucket": "bucket", "Key": "k", **params})

    assert raised.value.response["Error"]["Code"] == code


def test_memory_s3_ranges_as_get_object() -> None:
    memory = MemoryS3("bucket", "k", b"0123456789", "v1")

    def get(spec: str) -> tuple[bytes, str, int]:
        answer = memory.get_object(Bucket="bucket", Key="k", Range=spec)
        return answer["Body"].read(), answer["ContentRange"], answer["ContentLength"]

    assert get("bytes=2-4") == (b"234", "bytes 2-4/10", 3)
    assert get("bytes=8-") == (b"89", "bytes 8-9/10", 2)
    assert get("bytes=-3") == (b"789", "bytes 7-9/10", 3)
    assert get("bytes=5-100") == (b"56789", "bytes 5-9/10", 5)
    whole = memory.get_object(Bucket="bucket", Key="k", VersionId="v1")
    assert (whole["ContentLength"], whole["VersionId"], "ContentRange" in whole) == (10, "v1", False)


def test_a_step_calling_anything_but_reads_is_told_to_use_the_pipeline(run_step) -> None:
    with pytest.raises(AttributeError, match="s3flow_pipeline"):
        run_step(lambda obj: obj.s3.put_object(Bucket="b", Key="k", Body=b""), b"x", name="writer")


def test_a_users_test_file_gets_both_fixtures_from_the_installed_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mine="""
        def lengths(obj):
            return {"lines": sum(1 for _ in obj.lines())}

        def test_step(run_step):
            assert run_step(lengths, b"a\\nb\\n") == {"lines": 2}

        def test_pipeline(s3flow_pipeline):
            pass
        """
    )

    result = pytester.runpytest("-p", "no:cacheprovider", "--s3flow-cdk-out", "missing.out")

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*s3flow_pipeline: no *missing.out/TapStackdev.template.json: synthesize*"])
