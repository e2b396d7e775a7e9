"""The counting the fault tests rely on: each state an uploaded version can end in."""

from __future__ import annotations

from s3flow.testing.faults.seeds import draw, pick
from s3flow.testing.ledger import Ledger

RECORD = {"status": "SUCCESS", "requestId": "r"}
EVENT = {"status": "SUCCESS", "requestId": "r"}
# A processor failure: the S3 event Lambda gave up on (nothing written).
S3_EVENT_FAILURE = {"requestPayload": {"Records": []}, "requestContext": {"condition": "RetriesExhausted"}}
# A publisher failure: where the stream batch holding the record was (its record is written).
STREAM_BATCH_FAILURE = {
    "requestContext": {"condition": "RetryAttemptsExhausted"},
    "DDBStreamBatchInfo": {"shardId": "s", "startSequenceNumber": "1", "endSequenceNumber": "4"},
}


def ledger(records=None, events=None, failures=None, strays=()) -> Ledger:
    version = ("k", "v")
    return Ledger(
        [version],
        records={version: records} if records else {},
        events={version: events} if events else {},
        failures={version: failures} if failures else {},
        strays=list(strays),
    )


def test_one_record_and_one_event_is_recorded():
    counted = ledger([RECORD], [EVENT])
    assert counted.holds() and counted.recorded(("k", "v")) and not counted.failed


def test_an_s3_event_retained_by_the_processor_with_no_record_holds_and_is_not_unpublished():
    counted = ledger(None, None, [S3_EVENT_FAILURE])
    assert counted.holds() and counted.failed == [("k", "v")] and counted.unpublished == []


def test_a_record_with_no_event_retained_by_the_publishers_queue_holds_as_unpublished():
    counted = ledger([RECORD], None, [STREAM_BATCH_FAILURE])
    assert counted.holds() and counted.failed == [("k", "v")] and counted.unpublished == [("k", "v")]


def test_a_record_with_no_event_and_nothing_retained_is_lost():
    # the outbox's one way to lose an object: its stream record dropped and not in any queue
    assert ledger([RECORD], None).lost == [("k", "v")]


def test_a_record_retained_in_both_queues_is_a_failure_but_not_only_the_publishers():
    counted = ledger([RECORD], None, [S3_EVENT_FAILURE, STREAM_BATCH_FAILURE])
    assert counted.failed == [("k", "v")] and counted.unpublished == []


def test_nothing_at_all_is_lost():
    assert ledger().lost == [("k", "v")]


def test_an_event_with_no_record_is_lost():
    assert ledger(None, [EVENT]).lost == [("k", "v")]


def test_a_stream_batch_whose_event_went_out_anyway_is_not_a_clean_failure():
    counted = ledger([RECORD], [EVENT], [STREAM_BATCH_FAILURE])
    assert not counted.holds() and not counted.failed and counted.stale == [("k", "v")]


def test_a_recorded_version_still_in_the_processors_failure_queue_breaks_the_promise():
    counted = ledger([RECORD], [EVENT], [S3_EVENT_FAILURE])
    assert counted.stale == [("k", "v")] and not counted.holds()


def test_two_events_or_two_records_are_duplicates_and_say_which():
    events = ledger([RECORD], [EVENT, EVENT])
    assert events.duplicated == events.duplicate_events == [("k", "v")]
    assert events.duplicate_records == [] and events.extra_events == 1 and events.lost == []
    records = ledger([RECORD, RECORD], [EVENT])
    assert records.duplicated == records.duplicate_records == [("k", "v")]
    assert records.duplicate_events == [] and records.extra_events == 0


def test_a_retained_stream_batch_with_two_records_is_a_duplicate_not_a_failure():
    counted = ledger([RECORD, RECORD], None, [STREAM_BATCH_FAILURE])
    assert counted.duplicate_records == [("k", "v")] and counted.failed == [] and not counted.holds()


def test_an_error_event_is_not_a_success_and_strays_break_the_promise():
    assert ledger([RECORD], [{**EVENT, "status": "ERROR"}]).lost == [("k", "v")]
    assert ledger([{**RECORD, "status": "ERROR"}], [EVENT]).lost == [("k", "v")]
    assert not ledger([RECORD], [EVENT], strays=["record error#1 None"]).holds()


def test_choices_depend_on_seed_fault_and_subject_only():
    assert draw(1, "f", "a") == draw(1, "f", "a")
    assert len({draw(seed, "f", "a") for seed in range(50)}) == 50
    assert draw(1, "f", "a") != draw(1, "g", "a")
    assert {pick(3, "f", str(n), (1, 2, 3)) for n in range(100)} == {1, 2, 3}


def test_retained_messages_are_counted_per_queue_once_per_message():
    both = Ledger(
        [("a", "1"), ("b", "1"), ("c", "1")],
        records={("a", "1"): [RECORD], ("b", "1"): [RECORD]},
        failures={
            ("a", "1"): [STREAM_BATCH_FAILURE],
            ("b", "1"): [STREAM_BATCH_FAILURE],
            ("c", "1"): [S3_EVENT_FAILURE],
        },
    )
    assert both.retained_messages(publisher=True) == 1 and both.retained_messages(publisher=False) == 1
    assert both.unpublished == [("a", "1"), ("b", "1")] and both.holds()
