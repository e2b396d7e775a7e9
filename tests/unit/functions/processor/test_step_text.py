"""ObjectRef's text helpers over a fake S3 body: ``lines`` reads as a text-mode file does,
``csv_rows`` as ``csv.reader`` over a file opened with ``newline=""``, whatever the chunk
boundaries cut (a character, a ``\\r\\n``, a quoted field), and memory does not grow with the object."""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3flow.functions.processor.steps.registry import ObjectRef


class FakeBody:
    """A GetObject body: ``iter_chunks`` yields ``chunk_size`` bytes at a time, as botocore's does."""

    def __init__(self, data: bytes = b"", *, repeat: bytes = b"", size: int = 0) -> None:
        self._data, self._repeat, self._size = data, repeat, size
        self.closed = False

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        if not self._repeat:
            for start in range(0, len(self._data), chunk_size):
                yield self._data[start : start + chunk_size]
            return
        # ``repeat`` over and over up to ``size`` bytes, made chunk by chunk: nothing holds it whole.
        cycle = self._repeat * (chunk_size // len(self._repeat) + 2)
        offset, left = 0, self._size
        while left > 0:
            take = min(chunk_size, left)
            yield cycle[offset : offset + take]
            offset, left = (offset + take) % len(self._repeat), left - take

    def close(self) -> None:
        self.closed = True


class FakeS3:
    def __init__(self, body: FakeBody) -> None:
        self.body = body
        self.calls: list[dict[str, Any]] = []

    def get_object(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return {"Body": self.body}


def ref(data: bytes = b"", **body: Any) -> tuple[ObjectRef, FakeS3]:
    s3 = FakeS3(FakeBody(data, **body))
    size = body.get("size", len(data))
    return ObjectRef("bucket", "key", "v1", size, "etag", client_factory=lambda: s3), s3


def file_lines(data: bytes, encoding: str = "utf-8") -> list[str]:
    """What iterating over the bytes opened in text mode gives, endings taken off."""
    with io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline=None) as text:
        return [line.removesuffix("\n") for line in text]


def test_lines_are_the_text_without_endings_from_one_pinned_get() -> None:
    obj, s3 = ref(b"first\r\nsecond\nthird\rfourth\n\nlast")

    assert list(obj.lines()) == ["first", "second", "third", "fourth", "", "last"]
    assert s3.calls == [{"Bucket": "bucket", "Key": "key", "VersionId": "v1"}]
    assert s3.body.closed


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 8])
def test_lines_across_chunk_boundaries(chunk_bytes: int) -> None:
    # A \r\n and multi-byte characters (2, 3 and 4 bytes) land on every boundary for small chunks.
    data = "é\r\nfin 東京\r\r\n\n🙂x\r".encode()

    assert list(ref(data)[0].lines(chunk_bytes=chunk_bytes)) == ["é", "fin 東京", "", "", "🙂x"]


def test_lines_keep_the_separators_a_text_file_keeps() -> None:
    # str.splitlines would split on these too; a file in text mode does not.
    data = "a\x0bb\x0cc\x1cd\x85e\u2028f\u2029g".encode()

    assert list(ref(data)[0].lines()) == file_lines(data) == ["a\x0bb\x0cc\x1cd\x85e\u2028f\u2029g"]


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(["a", "é", "東", "🙂", "\r", "\n", ",", '"']), max_size=40),
    chunk_bytes=st.integers(min_value=1, max_value=9),
)
def test_lines_read_as_a_text_mode_file_reads(text: str, chunk_bytes: int) -> None:
    data = text.encode()

    assert list(ref(data)[0].lines(chunk_bytes=chunk_bytes)) == file_lines(data)


def test_lines_decode_other_encodings_and_errors() -> None:
    assert list(ref("ça\nva".encode("latin-1"))[0].lines("latin-1")) == ["ça", "va"]
    assert list(ref("head\nrow".encode("utf-16"))[0].lines("utf-16", chunk_bytes=3)) == ["head", "row"]
    assert list(ref(b"ok\n\xff\xfe bad")[0].lines(errors="replace")) == ["ok", "\ufffd\ufffd bad"]
    with pytest.raises(UnicodeDecodeError):
        list(ref(b"ok\n\xff bad")[0].lines())


def test_a_character_cut_off_at_the_end_is_a_decoding_error() -> None:
    with pytest.raises(UnicodeDecodeError):
        list(ref("fin é".encode()[:-1])[0].lines(chunk_bytes=2))


CSV = b'id,note,amount\r\n1,"two\r\nlines, and ""quotes""",0.1\r\n2,"lf\nonly",3\n3,,"a\rb"\r\n"4","",\r\n'


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 4, 7, 16, 1024])
def test_csv_rows_keep_quoted_line_breaks_across_chunk_boundaries(chunk_bytes: int) -> None:
    expected = list(csv.reader(io.StringIO(CSV.decode(), newline="")))

    rows = list(ref(CSV)[0].csv_rows(chunk_bytes=chunk_bytes))

    assert rows == expected
    assert rows[1] == ["1", 'two\r\nlines, and "quotes"', "0.1"]
    assert rows[2] == ["2", "lf\nonly", "3"] and rows[3] == ["3", "", "a\rb"]


def test_csv_rows_take_a_dialect_and_format_parameters() -> None:
    data = b"a;b\n'x;y';z\n"

    assert list(ref(data)[0].csv_rows(delimiter=";", quotechar="'")) == [["a", "b"], ["x;y", "z"]]
    assert list(ref(b"a\tb\n")[0].csv_rows("excel-tab")) == [["a", "b"]]


def test_lines_and_rows_hold_a_chunk_not_the_object() -> None:
    # GIVEN a 16 MiB object, made by the fake body chunk by chunk as S3 would send it
    size, chunk = 16 * 1024 * 1024, 64 * 1024
    line = '4711,"a quoted, comma field",héllo wörld,3.14159,' + "x" * 950 + "\r\n"

    # WHEN every line and every row is read, counting them without keeping them
    tracemalloc.start()
    try:
        lines = sum(1 for _ in ref(repeat=line.encode(), size=size)[0].lines(chunk_bytes=chunk))
        rows = sum(1 for _ in ref(repeat=line.encode(), size=size)[0].csv_rows(chunk_bytes=chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # THEN all were read, and the peak stays within a few chunks, a 16th of the object
    whole_lines = size // len(line.encode())
    assert lines == rows and lines in (whole_lines, whole_lines + 1)
    assert peak < 1024 * 1024, f"peak {peak} bytes for a {size}-byte object"
