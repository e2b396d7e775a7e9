"""``s3flow demo``'s checks, without a pipeline: they fail when what arrived is wrong."""

from __future__ import annotations

import pytest

from s3flow.cli.demo import Observed, evaluate
from s3flow.cli.queries import RoutedEvent
from s3flow.cli.traces import Span, Timeline
from s3flow.cli.uploads import Uploaded

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
