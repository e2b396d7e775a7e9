"""The counting the fault tests rely on: each state an uploaded version can end in."""

from __future__ import annotations

from s3flow.local.faults import Ledger, draw, pick

PUBLISHED = {"status": "SUCCESS", "eventState": "PUBLISHED", "requestId": "r"}
PENDING = {"status": "SUCCESS", "eventState": "PENDING", "requestId": "r"}
EVENT = {"status": "SUCCESS", "requestId": "r"}


def ledger(records=None, events=None, failures=None, strays=()) -> Ledger:
    version = ("k", "v")
    return Ledger(
        [version],
        records={version: records} if records else {},
        events={version: events} if events else {},
        failures={version: failures} if failures else {},
        strays=list(strays),
    )


def test_one_published_record_and_one_event_is_recorded():
    counted = ledger([PUBLISHED], [EVENT])
    assert counted.holds() and counted.recorded(("k", "v")) and not counted.failed


def test_a_retained_failure_with_a_pending_record_and_no_event_holds():
    counted = ledger([PENDING], None, [{"requestPayload": {}}])
    assert counted.holds() and counted.failed == [("k", "v")]


def test_nothing_at_all_is_lost():
    assert ledger().lost == [("k", "v")]


def test_a_pending_record_whose_event_went_out_but_nothing_retained_is_lost():
    assert ledger([PENDING], [EVENT]).lost == [("k", "v")]


def test_a_failure_whose_event_went_out_anyway_is_not_a_clean_failure():
    counted = ledger([PENDING], [EVENT], [{"requestPayload": {}}])
    assert not counted.holds() and not counted.failed


def test_a_recorded_version_still_in_the_failure_queue_breaks_the_promise():
    counted = ledger([PUBLISHED], [EVENT], [{"requestPayload": {}}])
    assert counted.stale == [("k", "v")] and not counted.holds()


def test_two_events_or_two_records_are_duplicates():
    assert ledger([PUBLISHED], [EVENT, EVENT]).duplicated == [("k", "v")]
    assert ledger([PUBLISHED, PUBLISHED], [EVENT]).duplicated == [("k", "v")]


def test_an_error_event_is_not_a_success_and_strays_break_the_promise():
    assert ledger([PUBLISHED], [{**EVENT, "status": "ERROR"}]).lost == [("k", "v")]
    assert not ledger([PUBLISHED], [EVENT], strays=["record error#1 None"]).holds()


def test_choices_depend_on_seed_fault_and_subject_only():
    assert draw(1, "f", "a") == draw(1, "f", "a")
    assert len({draw(seed, "f", "a") for seed in range(50)}) == 50
    assert draw(1, "f", "a") != draw(1, "g", "a")
    assert {pick(3, "f", str(n), (1, 2, 3)) for n in range(100)} == {1, 2, 3}
