"""The project's ``make run`` (``s3flow demo --samples``) fails unless every record carries the
fields of each registered step."""

from __future__ import annotations

from s3flow.cli.demo import Observed, evaluate
from s3flow.cli.queries import RoutedEvent
from s3flow.cli.traces import Span, Timeline
from s3flow.cli.uploads import Uploaded

TRACE = Timeline(
    "1-abc-def",
    [Span("process_s3_records", 0, 1, 0), Span("DynamoDB", 0, 1, 1), Span("EventBridge", 0, 1, 1)],
)
CHECK = "every record carries the fields of line_stats"


def _observed(records: list[dict], steps: tuple[str, ...] = ("line_stats",)) -> Observed:
    uploaded = [Uploaded(r["objectKey"], r["versionId"], 1, 0) for r in records]
    events = [RoutedEvent(0, {"objectKey": r["objectKey"], "status": "SUCCESS"}, "") for r in records]
    return Observed(uploaded, records, events, TRACE, 0, steps)


def _record(key: str, steps: dict | None) -> dict:
    record = {"objectKey": key, "versionId": "v1", "status": "SUCCESS"}
    return record if steps is None else {**record, "steps": steps}


def _checks(observed: Observed) -> dict[str, bool]:
    return {check.name: check.ok for check in evaluate(observed)}


def test_records_with_the_steps_fields_pass():
    checks = _checks(_observed([_record("a.txt", {"line_stats": {"lines": 1}})]))

    assert checks[CHECK] and all(checks.values())


def test_a_record_without_the_steps_fields_fails_naming_it():
    observed = _observed([_record("a.txt", {"line_stats": {"lines": 1}}), _record("b.txt", None)])

    (check,) = [check for check in evaluate(observed) if check.name == CHECK]
    assert not check.ok and check.detail == "2 records; without: b.txt (line_stats)"


def test_without_registered_steps_there_is_no_such_check():
    assert not any(name.startswith("every record carries") for name in _checks(_observed([], steps=())))
