"""Property tests: S3 events of any shape, through the handler, on moto.

One event holds several records, each drawn as one of: a good record (any key: unicode,
``+``, ``%``, spaces, up to S3's 1,024 bytes), a broken record (a field missing, empty or of
the wrong type, an unknown or non-create event name, no id to tell versions apart), a record
whose event would exceed EventBridge's 256 KB, or a record from another source. Whatever
the mix: the invocation never fails, every good record becomes one SUCCESS item, every
broken or oversized one an ERROR item whose message names the problem, each written by one
PutItem and each making an event entry the publisher can send; other sources leave nothing.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3flow import contract
from s3flow.functions.processor.records import error_digest
from s3flow.functions.shared.entries import entry_for, fits
from support.functions import BUS, TABLE, load_event

S3_KEY_BYTES = 1024
BASE = load_event("s3_put_single")["Records"][0]

key_text = st.text(
    alphabet=st.one_of(st.sampled_from("+% /&=?#~é東😀\t"), st.characters(codec="utf-8")),
    min_size=1,
    max_size=300,
).map(lambda text: text.encode("utf-8")[:S3_KEY_BYTES].decode("utf-8", "ignore")) | st.just(
    "k" * S3_KEY_BYTES
)
keys = key_text.filter(bool)

# (path to a field, what to do, a fragment the error message must hold)
BREAKAGES: list[tuple[tuple[str, ...], Any, str]] = [
    (("eventName",), None, "eventName"),
    (("eventTime",), None, "eventTime"),
    (("s3",), None, "s3"),
    (("s3", "bucket"), None, "bucket"),
    (("s3", "bucket", "name"), None, "name"),
    (("s3", "bucket", "name"), "", "s3.bucket.name"),
    (("s3", "object"), None, "object"),
    (("s3", "object", "key"), None, "key"),
    (("s3", "object", "key"), "", "s3.object.key"),
    (("s3", "object", "key"), 42, "s3.object.key"),
    (("s3", "object", "size"), None, "size"),
    (("s3", "object", "size"), -1, "s3.object.size"),
    (("s3", "object", "size"), "12", "s3.object.size"),
    (("eventTime",), "yesterday", "yesterday"),
    (("eventTime",), "2026-11-24T10:15:30", "time zone"),
    (("eventTime",), "0001-01-01T00:00:00+01:00", "out of range"),
    (("eventName",), "ObjectRemoved:Delete", "ObjectRemoved:Delete"),
    (("eventName",), "LifecycleExpiration:Delete", "LifecycleExpiration:Delete"),
    (("eventName",), "s3:TestEvent", "s3:TestEvent"),
    (("eventName",), 7, "eventName"),
    (("s3", "object", "versionId"), ["v"], "s3.object.versionId"),
]
MISSING = object()


@dataclass(frozen=True)
class Case:
    kind: str  # good | broken | oversized | other
    record: dict[str, Any]
    key: str = ""
    version: str = ""
    fragment: str = ""

    def __repr__(self) -> str:  # records can be 300 KB: keep hypothesis' report readable
        return (
            f"Case({self.kind!r}, {json.dumps(self.record, ensure_ascii=False)[:300]!r}, {self.key[:80]!r})"
        )


def good_record(key: str, version: str, size: int) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    raw["s3"]["object"].update(key=quote_plus(key, safe="/"), versionId=version, size=size)
    return raw


def set_path(raw: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = raw
    for name in path[:-1]:
        target = target[name]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value


@st.composite
def cases(draw: st.DrawFn, index: int) -> Case:
    kind = draw(st.sampled_from(["good", "good", "broken", "broken", "oversized", "other"]))
    version = f"v{index}-{draw(st.text(alphabet='abcdef0123456789', min_size=4, max_size=8))}"
    if kind == "good":
        key = draw(keys)
        return Case(kind, good_record(key, version, draw(st.integers(0, 5 * 2**30))), key, version)
    if kind == "broken":
        raw = good_record(draw(keys), version, 1)
        choice = draw(st.sampled_from([*BREAKAGES, "no-ids"]))
        if choice == "no-ids":
            for name in ("versionId", "sequencer", "eTag"):
                raw["s3"]["object"].pop(name, None)
            fragment = "versionId, sequencer or eTag"
        else:
            path, value, fragment = choice
            set_path(raw, path, value)
        raw["responseElements"] = {"x-amz-request-id": f"R{index}"}  # each broken record unique
        return Case(kind, raw, fragment=fragment)
    if kind == "oversized":
        key = "huge/" + "h" * draw(st.integers(270_000, 300_000))  # over 256 KB = 262,144 bytes
        return Case(kind, good_record(key, version, 1), key, version, "limit")
    other = draw(
        st.sampled_from(
            [
                {"eventSource": "aws:sqs", "body": "{}"},
                {"EventSource": "aws:sns", "Sns": {"Message": "hi"}},
                {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"},
            ]
        )
    )
    return Case("other", {**other, "n": index})


@st.composite
def events(draw: st.DrawFn) -> list[Case]:
    count = draw(st.integers(1, 6))
    return [draw(cases(index)) for index in range(count)]


def announced(item: dict[str, Any]) -> dict[str, Any]:
    """The event the publisher makes of a stored item; it must fit one PutEvents request."""
    entry = entry_for(item, event_bus_name=BUS)
    assert fits(entry), item["requestId"]
    return {"detail-type": entry["DetailType"], "detail": json.loads(entry["Detail"])}


def empty(aws: Any, api_calls: Any) -> None:
    """The table emptied and the calls forgotten: each example starts from nothing."""
    for item in aws.dynamodb.scan(TableName=TABLE, ProjectionExpression="requestId, #t",
                                  ExpressionAttributeNames={"#t": "timestamp"})["Items"]:  # fmt: skip
        aws.dynamodb.delete_item(TableName=TABLE, Key=item)
    api_calls.calls.clear()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=events())
def test_every_record_of_any_event_ends_as_one_item_and_one_event(
    aws, invoke, api_calls, drawn: list[Case]
) -> None:
    empty(aws, api_calls)

    summary = invoke({"Records": [case.record for case in drawn]})

    goods = [case for case in drawn if case.kind == "good"]
    bads = [case for case in drawn if case.kind in ("broken", "oversized")]
    assert summary["failed"] == 0
    assert summary["succeeded"] == len(goods) and summary["errors"] == len(bads)
    assert summary["ignored"] == sum(case.kind == "other" for case in drawn)
    assert len(api_calls.of("dynamodb", "PutItem")) == len(goods) + len(bads)
    assert api_calls.of("events") == []
    items = aws.items()
    published = [announced(item) for item in items]
    assert len(items) == len(goods) + len(bads)

    successes = {(i["objectKey"], i["versionId"]): i for i in items if i["status"] == contract.STATUS_SUCCESS}
    assert sorted(successes) == sorted((case.key, case.version) for case in goods)
    success_events = [e["detail"] for e in published if e["detail-type"] == contract.DETAIL_TYPE_SUCCESS]
    assert sorted((d["objectKey"], d["versionId"]) for d in success_events) == sorted(successes)

    errors = {item["requestId"]: item for item in items if item["status"] == contract.STATUS_ERROR}
    error_events = {
        e["detail"]["requestId"] for e in published if e["detail-type"] == contract.DETAIL_TYPE_ERROR
    }
    assert set(errors) == error_events
    for case in (case for case in bads if case.kind == "broken"):
        item = errors.pop("error#" + error_digest(case.record))
        assert case.fragment in item["errorMessage"], (case.fragment, item["errorMessage"])
        assert item["recordExcerpt"]
    # what is left are the oversized ones: an error each, saying which limit
    assert len(errors) == sum(case.kind == "oversized" for case in drawn)
    assert all("limit" in item["errorMessage"] for item in errors.values())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=keys)
def test_any_key_is_stored_and_published_exactly_as_uploaded(aws, invoke, api_calls, key: str) -> None:
    empty(aws, api_calls)

    invoke({"Records": [good_record(key, "v1", 3)]})

    (item,) = aws.items()
    assert item["objectKey"] == announced(item)["detail"]["objectKey"] == key
    assert len(key.encode("utf-8")) <= S3_KEY_BYTES


def test_the_s3_test_event_and_an_event_without_records_leave_nothing_or_one_error(aws, invoke) -> None:
    assert invoke(load_event("s3_test_event"))["ignored"] == 1
    assert aws.items() == []

    summary = invoke({"Records": "not a list"})

    (item,) = aws.items()
    assert summary["errors"] == 1 and "no Records list" in item["errorMessage"]
    assert announced(item)["detail-type"] == contract.DETAIL_TYPE_ERROR
    assert json.loads(item["recordExcerpt"]) == {"Records": "not a list"}
