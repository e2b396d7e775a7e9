"""The main job, end to end: ``s3flow demo`` must pass on a fresh emulator, and its checks must fail
when what arrived is wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from s3flow.cli.demo import Observed, evaluate
from s3flow.cli.main import app
from s3flow.cli.queries import RoutedEvent
from s3flow.cli.traces import Span, Timeline
from s3flow.cli.uploads import Uploaded


@pytest.mark.e2e
def test_demo_passes_with_one_record_and_one_event_per_object(runner, synthesized: Path):
    result = runner.invoke(app, ["demo", "--cdk-out", str(synthesized), "--concurrency", "2"])

    assert result.exit_code == 0, result.output
    assert "5 records for 5 versions" in result.output
    assert "5 success events for 5 objects" in result.output
    assert "0 in the failure queues" in result.output
    assert "demo passed" in result.output
    assert "re-delivered the S3 record of 'my report+final v2.txt'" in result.output
    # the redelivery reached the function (6 invocations) but routed no second event
    assert re.search(r"received 6, recorded 6, routed 5", result.output), result.output
    for key in ("my report+final v2.txt", "données/résumé 東京.txt", "empty.txt", "a/b/c.txt", "large.bin"):
        assert key in result.output


UPLOADED = [Uploaded("a.txt", "v1", 1, 0), Uploaded("b c+.txt", "v2", 0, 0)]
FULL_TRACE = Timeline(
    "1-abc-def",
    [Span("process_s3_records", 0, 1, 0), Span("DynamoDB", 0, 1, 1), Span("EventBridge", 0, 1, 1)],
)


def _record(key: str, version: str, status: str = "SUCCESS") -> dict:
    return {"objectKey": key, "versionId": version, "status": status}


def _event(key: str, status: str = "SUCCESS") -> RoutedEvent:
    return RoutedEvent(0, {"objectKey": key, "status": status}, "")


def _observed(**changes) -> Observed:
    base = {
        "uploaded": UPLOADED,
        "records": [_record("a.txt", "v1"), _record("b c+.txt", "v2")],
        "events": [_event("a.txt"), _event("b c+.txt")],
        "timeline": FULL_TRACE,
        "failures": 0,
    }
    return Observed(**{**base, **changes})


def _failed(observed: Observed) -> list[str]:
    return [check.name for check in evaluate(observed) if not check.ok]


def test_checks_pass_when_everything_arrived_once():
    assert _failed(_observed()) == []


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"records": [_record("a.txt", "v1"), _record("a.txt", "v1"), _record("b c+.txt", "v2")]},
         ["one record per object version"]),
        ({"records": [_record("a.txt", "v1")]},
         ["one record per object version", "keys stored exactly as uploaded"]),
        ({"records": [_record("a.txt", "v1"), _record("b+c%2B.txt", "v2")]},
         ["one record per object version", "keys stored exactly as uploaded"]),
        ({"events": [_event("a.txt"), _event("a.txt"), _event("b c+.txt")]},
         ["one success event per object"]),
        ({"events": [_event("a.txt"), _event("b c+.txt", "ERROR")]}, ["one success event per object"]),
        ({"timeline": None}, ["one trace with processing, DynamoDB and EventBridge spans"]),
        ({"timeline": Timeline("1-x", [Span("process_s3_records", 0, 1, 0), Span("DynamoDB", 0, 1, 1)])},
         ["one trace with processing, DynamoDB and EventBridge spans"]),
        ({"failures": 1}, ["no failures"]),
    ],
    ids=["duplicate record", "missing record", "encoded key", "duplicate event", "error event",
         "no trace", "no publish span", "a failure"],
)  # fmt: skip
def test_checks_name_what_went_wrong(changes, failing):
    assert _failed(_observed(**changes)) == failing
