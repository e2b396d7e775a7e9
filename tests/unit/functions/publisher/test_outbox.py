"""The publisher's logic without AWS: which stream records become events, in what chunks, what to retry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3flow import contract
from s3flow.functions.publisher import outbox
from s3flow.functions.publisher.delivery import PublishReport
from s3flow.functions.shared.entries import entry_for, entry_size
from support.stream_records import (
    TRACE,
    bad_item,
    inserts,
    object_item,
    sequence,
    step_error,
    stream_record,
)

BUS = "s3-processing-bus-test"


def parsed(*raw: dict[str, Any]) -> list[outbox.StreamRecord]:
    return outbox.parse_stream_event({"Records": list(raw)})


def planned(*raw: dict[str, Any], **options: Any) -> outbox.Plan:
    return outbox.plan(parsed(*raw), event_bus_name=BUS, **options)


# Selection


def test_an_insert_publishes_exactly_the_processors_entry_with_its_trace_header() -> None:
    item = object_item("uploads/a.txt")

    [sent] = planned(stream_record("INSERT", 1, new=item)).outgoing

    assert sent.entry == {**entry_for(item, event_bus_name=BUS), "TraceHeader": TRACE}
    assert sent.item == item
    assert sent.record.sequence_number == sequence(1)
    detail = json.loads(sent.entry["Detail"])
    assert detail["objectKey"] == "uploads/a.txt" and detail["size"] == 1024
    assert sent.entry["DetailType"] == contract.DETAIL_TYPE_SUCCESS


def test_an_error_record_publishes_an_error_event() -> None:
    [sent] = planned(stream_record("INSERT", 1, new=bad_item())).outgoing

    assert sent.entry["DetailType"] == contract.DETAIL_TYPE_ERROR
    assert json.loads(sent.entry["Detail"])["errorMessage"] == "record has no s3.object.key"


def test_an_item_without_a_trace_id_gets_no_trace_header() -> None:
    [sent] = planned(stream_record("INSERT", 1, new=object_item("a", trace=None))).outgoing

    assert "TraceHeader" not in sent.entry


def test_a_trace_id_eventbridge_would_refuse_is_left_out() -> None:
    longest = (TRACE + ";Lineage=").ljust(500, "a")
    too_long = longest + "a"

    sent = planned(
        stream_record("INSERT", 1, new=object_item("a", trace=longest)),
        stream_record("INSERT", 2, new=object_item("b", trace=too_long)),
    ).outgoing

    assert len(longest) == 500
    assert [s.entry.get("TraceHeader") for s in sent] == [longest, None]


def test_modify_publishes_only_a_status_change_and_remove_nothing() -> None:
    done = object_item("retried.txt")
    failed = step_error(done)
    same = object_item("rewritten.txt")

    plan = planned(
        stream_record("MODIFY", 1, new=done, old=failed),  # step error retried to success
        stream_record("MODIFY", 2, new=same, old={**same, "processedAt": "later"}),
        stream_record("MODIFY", 3, new=step_error(same), old=step_error(same)),
        stream_record("REMOVE", 4, old=same),
        stream_record("SOMETHING_NEW", 5, new=same),
    )

    assert [sent.record.sequence_number for sent in plan.outgoing] == [sequence(1)]
    assert plan.outgoing[0].entry["DetailType"] == contract.DETAIL_TYPE_SUCCESS
    assert [skipped.record.sequence_number for skipped in plan.skipped] == [sequence(n) for n in (2, 3, 4, 5)]
    assert plan.unpublishable == []


def test_success_turned_into_a_step_error_publishes_the_error() -> None:
    done = object_item("x.txt")

    [sent] = planned(stream_record("MODIFY", 1, new=step_error(done), old=done)).outgoing

    assert sent.entry["DetailType"] == contract.DETAIL_TYPE_ERROR


@settings(max_examples=50, deadline=None)
@given(
    old_status=st.sampled_from(["SUCCESS", "ERROR", "OTHER"]),
    new_status=st.sampled_from(["SUCCESS", "ERROR"]),
)
def test_modify_publishes_if_and_only_if_the_status_differs(old_status: str, new_status: str) -> None:
    item = object_item("k")

    plan = planned(
        stream_record("MODIFY", 1, new={**item, "status": new_status}, old={**item, "status": old_status})
    )

    assert len(plan.outgoing) == (old_status != new_status)
    assert len(plan.skipped) == (old_status == new_status)


def broken(raw: dict[str, Any], **body: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(raw))
    for name, value in body.items():
        if value is None:
            copy["dynamodb"].pop(name, None)
        else:
            copy["dynamodb"][name] = value
    return copy


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"NewImage": None}, "without NewImage"),
        ({"NewImage": {"size": {"N": "not a number"}}}, "NaN is not JSON"),
        ({"NewImage": {"size": {"N": "1e400000000"}}}, "cannot be decoded"),
        ({"NewImage": {"size": {"Q": "1"}}}, "cannot be decoded"),
        ({"NewImage": {"size": "1024"}}, "cannot be decoded"),
        ({"NewImage": ["not", "a", "map"]}, "without NewImage"),
        ({"SequenceNumber": None}, "without SequenceNumber"),
    ],
)
def test_records_our_pipeline_could_not_have_written_are_unpublishable(
    change: dict[str, Any], reason: str
) -> None:
    good = stream_record("INSERT", 1, new=object_item("a"))

    plan = planned(
        good, broken(stream_record("INSERT", 2, new=object_item("b")), **change), inserts(1, start=3)[0]
    )

    [bad] = plan.unpublishable
    assert reason in bad.reason
    assert bad.record.position == 1
    assert [sent.record.position for sent in plan.outgoing] == [0, 2]  # the others still go out


def test_modify_without_old_image_is_unpublishable() -> None:
    [bad] = planned(stream_record("MODIFY", 1, new=object_item("a"))).unpublishable

    assert "OldImage" in bad.reason


def test_an_entry_over_the_size_limit_is_unpublishable() -> None:
    small, big = object_item("small"), object_item("big" * 100)
    limit = entry_size(entry_for(small, event_bus_name=BUS))

    plan = planned(
        stream_record("INSERT", 1, new=small), stream_record("INSERT", 2, new=big), max_entry_bytes=limit
    )

    assert [sent.record.sequence_number for sent in plan.outgoing] == [sequence(1)]
    assert [bad.record.sequence_number for bad in plan.unpublishable] == [sequence(2)]
    assert "limit" in plan.unpublishable[0].reason


def test_an_event_without_records_plans_nothing() -> None:
    assert outbox.parse_stream_event({}) == [] == outbox.parse_stream_event({"Records": None})


# Delivery and the batch response


class FakeSend:
    """Stands in for ``publisher.publish`` on one chunk: fails entries whose objectKey is in ``fail``."""

    def __init__(self, fail: set[str] | None = None, raise_on_call: set[int] | None = None) -> None:
        self.fail = fail or set()
        self.raise_on_call = raise_on_call or set()
        self.chunks: list[list[str]] = []

    def __call__(self, entries: list[dict[str, Any]]) -> PublishReport:
        keys = [json.loads(entry["Detail"])["objectKey"] for entry in entries]
        self.chunks.append(keys)
        report = PublishReport(calls=1)
        if len(self.chunks) in self.raise_on_call:  # a whole call refused: every entry failed
            report.failed = dict.fromkeys(range(len(entries)), "ThrottlingException")
            return report
        for position, key in enumerate(keys):
            if key in self.fail:
                report.failed[position] = "InternalFailure"
            else:
                report.published.append(position)
        return report


def outgoing(count: int) -> list[outbox.Outgoing]:
    return planned(*inserts(count)).outgoing


def test_delivery_sends_chunks_of_ten_in_stream_order() -> None:
    sent = outgoing(25)
    send = FakeSend()

    delivery = outbox.deliver([s.entry for s in sent], send)

    assert [len(chunk) for chunk in send.chunks] == [10, 10, 5]
    assert [key for chunk in send.chunks for key in chunk] == [f"batch/file-{i}.csv" for i in range(25)]
    assert delivery.published == list(range(25)) and delivery.failed == {} and delivery.calls == 3
    assert outbox.batch_response(outbox.earliest_failure(sent, delivery.failed)) == {"batchItemFailures": []}


def test_a_failing_entry_stops_later_chunks_and_the_batch_resumes_at_it() -> None:
    sent = outgoing(25)
    send = FakeSend(fail={"batch/file-13.csv", "batch/file-17.csv", "batch/file-22.csv"})

    delivery = outbox.deliver([s.entry for s in sent], send)

    assert len(send.chunks) == 2  # the third chunk is never sent
    assert delivery.published == [*range(13), 14, 15, 16, 18, 19]
    assert delivery.failed == {13: "InternalFailure", 17: "InternalFailure",
                               **dict.fromkeys(range(20, 25), outbox.NOT_ATTEMPTED)}  # fmt: skip
    response = outbox.batch_response(outbox.earliest_failure(sent, delivery.failed))
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(13)}]}


def test_a_refused_call_fails_its_chunk_and_every_later_one() -> None:
    sent = outgoing(25)
    send = FakeSend(raise_on_call={2})

    delivery = outbox.deliver([s.entry for s in sent], send)

    assert len(send.chunks) == 2
    assert delivery.published == list(range(10))
    assert sorted(delivery.failed) == list(range(10, 25))
    assert outbox.earliest_failure(sent, delivery.failed).record.sequence_number == sequence(10)


def test_the_earliest_failure_is_by_stream_position_among_skipped_records() -> None:
    item = object_item("same")
    raw = [*inserts(3), stream_record("REMOVE", 3, old=item), *inserts(3, start=4)]
    sent = planned(*raw).outgoing

    first = outbox.earliest_failure(sent, {5: "InternalFailure", 3: "InternalFailure"})

    assert first.record.position == 4 and first.record.sequence_number == sequence(4)


@settings(max_examples=60, deadline=None)
@given(count=st.integers(min_value=1, max_value=45), data=st.data())
def test_delivery_properties(count: int, data: st.DataObject) -> None:
    sent = outgoing(count)
    failing = data.draw(st.sets(st.integers(min_value=0, max_value=count - 1), max_size=4))
    send = FakeSend(fail={f"batch/file-{i}.csv" for i in failing})

    delivery = outbox.deliver([s.entry for s in sent], send)

    # Every entry is either published or failed, never both, and no chunk exceeds ten.
    assert sorted([*delivery.published, *delivery.failed]) == list(range(count))
    assert not set(delivery.published) & set(delivery.failed)
    assert all(len(chunk) <= 10 for chunk in send.chunks)
    response = outbox.batch_response(outbox.earliest_failure(sent, delivery.failed))
    if not failing:
        assert response == {"batchItemFailures": []}
        return
    first = min(failing)
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(first)}]}
    # Nothing after the chunk holding the first failure was sent; everything before it was published.
    assert len(send.chunks) == first // 10 + 1
    assert set(range(first)) <= set(delivery.published)


def test_metric_values() -> None:
    summary = outbox.PublishSummary(records=5, published=3, skipped=1, unpublishable=1)

    assert outbox.metric_values(summary.as_dict()) == {contract.METRIC_EVENTS_PUBLISHED: 3,
                                              contract.METRIC_UNPUBLISHABLE_RECORDS: 1}  # fmt: skip
    assert outbox.metric_values(None) == {contract.METRIC_EVENTS_PUBLISHED: 0,
                                           contract.METRIC_UNPUBLISHABLE_RECORDS: 0}  # fmt: skip


def test_recently_published_forgets_the_oldest_beyond_its_capacity() -> None:
    recent = outbox.RecentlyPublished(capacity=2)
    for event_id in ("a", "b", "a", "c"):  # "a" seen again: it becomes the newest
        recent.add(event_id)

    assert "a" in recent and "c" in recent and "b" not in recent
    recent.add("")
    assert "" not in recent


def test_records_this_container_published_are_skipped_when_their_batch_comes_again() -> None:
    records = outbox.parse_stream_event({"Records": inserts(3)})
    recent = outbox.RecentlyPublished()
    recent.add(records[1].event_id)

    result = outbox.plan(records, event_bus_name="bus", already_published=recent)

    assert [sent.record.position for sent in result.outgoing] == [0, 2]
    assert [skipped.record.position for skipped in result.skipped] == [1]
