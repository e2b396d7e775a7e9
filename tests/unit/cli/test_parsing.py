"""Pure helpers of the CLI: time arguments, upload planning, trace timelines, S3 event shape."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from s3flow.cli.demo import s3_event_for
from s3flow.cli.errors import CliError
from s3flow.cli.queries import parse_log_message
from s3flow.cli.timeparse import parse_range, parse_when
from s3flow.cli.traces import timeline_of
from s3flow.cli.uploads import plan_uploads
from s3flow.functions.processor.records import parse_record

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("-90m", datetime(2026, 11, 25, 6, 30, tzinfo=UTC)),
        ("2d", datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        ("2026-11-24T10:00:00Z", datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),
        ("2026-11-24T12:00:00+02:00", datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),
        ("2026-11-24", datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),
    ],
)
def test_parse_when_reads_instants_dates_and_offsets(text, expected):
    assert parse_when(text, now=NOW) == expected


def test_parse_range_rejects_an_end_before_the_start():
    with pytest.raises(CliError, match="before --since"):
        parse_range("-1h", "-2h", now=NOW)
    with pytest.raises(CliError, match="cannot read time"):
        parse_when("soonish", now=NOW)


def test_plan_uploads_walks_folders_with_posix_keys_relative_to_the_folder(tmp_path: Path):
    (tmp_path / "d" / "x").mkdir(parents=True)
    (tmp_path / "d" / "x" / "y.txt").write_text("1")
    (tmp_path / "d" / "top.txt").write_text("22")
    (tmp_path / "f.bin").write_bytes(b"")

    planned = plan_uploads([tmp_path / "d", tmp_path / "f.bin"], prefix="p/")

    assert [(u.key, u.size) for u in planned] == [("p/top.txt", 2), ("p/x/y.txt", 1), ("p/f.bin", 0)]
    with pytest.raises(CliError, match="no such file or folder"):
        plan_uploads([tmp_path / "missing"])


def test_timeline_nests_spans_by_parent_id_across_segments():
    root = {
        "id": "a",
        "name": "fn",
        "start_time": 10.0,
        "end_time": 11.0,
        "subsegments": [{"id": "b", "name": "Invocation", "start_time": 10.1, "end_time": 10.9}],
    }
    child = {"id": "c", "parent_id": "b", "name": "process_s3_records", "start_time": 10.2, "end_time": 10.8,
             "annotations": {"requestId": "r"},
             "subsegments": [{"id": "d", "name": "DynamoDB", "namespace": "aws", "start_time": 10.3,
                              "end_time": 10.4, "aws": {"operation": "PutItem"}}]}  # fmt: skip

    timeline = timeline_of("1-t", [root, child])

    assert [(s.name, s.depth, s.kind) for s in timeline.spans] == [
        ("fn", 0, "other"),
        ("Invocation", 1, "other"),
        ("process_s3_records", 2, "processing"),
        ("DynamoDB", 3, "dynamodb"),
    ]
    assert timeline.annotations() == {"requestId": "r"}


def test_a_timeline_names_the_objects_whose_records_it_wrote_first_written_first():
    def write(span_id: str, start: float, key: str) -> dict:
        return {"id": span_id, "name": "dynamodb_write", "start_time": start, "end_time": start + 0.1,
                "metadata": {"default": {"object.objectKey": key, "object.size": 3}}}  # fmt: skip

    timeline = timeline_of(
        "1-t", [write("b", 2.0, "b.csv"), write("a", 1.0, "a.csv"), write("c", 3.0, "a.csv"), {"id": "x"}]
    )

    assert timeline.object_keys == ["a.csv", "b.csv"]


def test_the_trace_list_shows_each_traces_first_key_and_how_many_more():
    from rich.console import Console

    from s3flow.cli.render import trace_list_table
    from s3flow.cli.traces import Span, Timeline, TraceSummary

    def timeline(trace_id: str, *keys: str) -> Timeline:
        return Timeline(
            trace_id, [Span("w", float(i), float(i) + 1, 0, object_key=k) for i, k in enumerate(keys)]
        )

    timelines = {"1-a": timeline("1-a", "one.csv"), "1-b": timeline("1-b", "x.csv", "y.csv", "z.csv")}
    summaries = [TraceSummary(trace_id, 1.0, False, False) for trace_id in ("1-a", "1-b", "1-c")]
    console = Console(width=200, record=True)

    console.print(trace_list_table(summaries, timelines))

    rows = {line.split()[1]: line for line in console.export_text().splitlines() if line.startswith("│ 1-")}
    assert "one.csv" in rows["1-a"] and "(+" not in rows["1-a"]
    assert "x.csv (+2)" in rows["1-b"]
    assert ".csv" not in rows["1-c"]  # no timeline: no key to show


def test_log_messages_yield_the_event_detail_wrapped_or_not():
    assert parse_log_message('{"status":"SUCCESS","objectKey":"k"}')["objectKey"] == "k"
    assert parse_log_message('{"timestamp":"t","message":{"status":"ERROR"}}') == {"status": "ERROR"}
    assert parse_log_message("not json") == {}


def test_rebuilt_s3_event_parses_back_to_the_same_object_version():
    item = {"objectKey": "my file+x/é.txt", "size": 3, "eTag": "abc", "versionId": "v1",
            "eventTime": "2026-11-25T08:00:00.123Z", "eventName": "ObjectCreated:Put"}  # fmt: skip

    (record,) = s3_event_for(item, "us-east-1", "bucket")["Records"]

    assert record["s3"]["object"]["key"] == "my+file%2Bx/%C3%A9.txt"  # as S3 encodes it
    parsed = parse_record(record)
    assert (parsed.bucket, parsed.key, parsed.version_id, parsed.size) == (
        "bucket",
        "my file+x/é.txt",
        "v1",
        3,
    )


def test_flow_lines_keep_only_the_counts_that_happened():
    from s3flow.cli.local_up import _without_zero_counts

    assert _without_zero_counts("records 1, errors 0, duplicates 1, bytes 0") == "records 1, duplicates 1"
    assert _without_zero_counts("request 7deb06ac") == "request 7deb06ac"
    assert (
        _without_zero_counts("attempt 1 failed (Error: x); retry in 0.2s")
        == "attempt 1 failed (Error: x); retry in 0.2s"
    )


def test_records_are_read_up_to_a_day_past_now_at_most():
    from datetime import timedelta

    from s3flow.cli.queries import readable_until
    from s3flow.cli.timeparse import LATEST

    assert readable_until(LATEST, now=NOW) == NOW + timedelta(days=1)
    assert readable_until(NOW - timedelta(hours=1), now=NOW) == NOW - timedelta(hours=1)
