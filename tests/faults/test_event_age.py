"""The maximum event age running out: Lambda drops the event to the failure destination."""

from __future__ import annotations

from s3flow.testing.faults.event_age import EventAgeExpiry
from s3flow.testing.faults.seeds import seed_from_env


def test_expired_events_are_retained_untried_and_redrive_records_them(start_run):
    run = start_run(seed_from_env(71))
    fault = EventAgeExpiry(seed=run.seed, rate=0.3)
    fault.install(run.pipeline)

    keys = run.upload()
    ledger = run.count()

    # THEN exactly the aged events wait in the failure queue, never attempted, nothing written
    expired = sorted(key for key in keys if fault.expires(key))
    assert expired and fault.injected == len(expired), run.explain(f"injected {fault.injected}")
    run.assert_promise(ledger, failed=len(expired))
    assert sorted(key for key, _ in ledger.failed) == expired
    for version in ledger.failed:
        (failure,) = ledger.failures[version]
        assert failure["requestContext"]["condition"] == "EventAgeExceeded"
        assert failure["requestContext"]["approximateInvokeCount"] == 0
        assert version not in ledger.records

    assert ledger.retained_messages(publisher=True) == 0, run.explain(ledger.summary())

    fault.clear()
    redriven = run.redrive()
    assert (redriven.events, redriven.batches) == (len(expired), 0), run.explain(str(redriven))
    ledger = run.count()
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())
