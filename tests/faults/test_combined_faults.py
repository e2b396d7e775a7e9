"""Every fault at once, on both functions: nothing is lost, no record is written twice, and
a redrive after the faults clear leaves nothing behind. Events are sent twice only through
the two documented windows, each attributed: a publisher invocation that dies after one of
its PutEvents succeeded, and entries EventBridge accepted behind one that failed past the
publisher's own retries, coming again to a container that did not send them
(docs/reliability.md)."""

from __future__ import annotations

import json

from s3flow.testing.faults.event_age import EventAgeExpiry
from s3flow.testing.faults.proxy import EventBridgeOutage, PutEventsPartialFailures, throttling
from s3flow.testing.faults.seeds import seed_from_env
from s3flow.testing.faults.workers import BEFORE_PUBLISH, PROCESSOR_POINTS, WorkerDeaths
from s3flow.testing.ledger import Ledger

# Every PutEvents refused for this many requests: the first batches the publisher takes
# spend the mapping's 10 retries (4 tries an invocation) and go to its failure queue.
OUTAGE_REQUESTS = 50


def test_throttling_partial_publishes_outage_worker_kills_and_expiry_together(start_run, tmp_path):
    run = start_run(seed_from_env(91))
    partial = PutEventsPartialFailures(seed=run.seed, rate=0.3, failures=(1, 3))
    publisher_deaths = WorkerDeaths(
        seed=run.seed,
        rate=0.2,
        state_dir=tmp_path / "publisher-deaths",
        function_name=run.publisher,
        points=(BEFORE_PUBLISH,),
        name="publisher-deaths",
    )
    faults = [
        throttling(seed=run.seed, rate=0.2, failures={"PutItem": (1, 3, 10_000)}),
        partial,
        EventBridgeOutage(status=503, requests=OUTAGE_REQUESTS),
        WorkerDeaths(
            seed=run.seed,
            rate=0.2,
            state_dir=tmp_path / "processor-deaths",
            function_name=run.function,
            points=PROCESSOR_POINTS,
        ),
        publisher_deaths,
        EventAgeExpiry(seed=run.seed, rate=0.1),
    ]
    for fault in faults:
        fault.install(run.pipeline)

    run.upload()
    ledger = run.count()

    # THEN nothing is lost, no record doubled; failures wait in both queues: S3 events the
    # processor never recorded, and stream batches the publisher never announced
    injected = [(fault.name, fault.injected) for fault in faults]
    assert all(count for _, count in injected), run.explain(f"{ledger.summary()}; injected {injected}")
    assert_nothing_lost_and_only_attributed_events_doubled(run, ledger, partial, publisher_deaths)
    events = ledger.retained_messages(publisher=False)
    batches = (
        len({json.dumps(b, sort_keys=True) for v in ledger.failures for b in ledger.failures[v]}) - events
    )
    assert events and batches and ledger.unpublished, run.explain(ledger.summary())
    print(
        f"injected {injected}; retained {len(ledger.failed)} versions: {events} events, {batches} batch(es); "
        f"events duplicated {len(ledger.duplicate_events)} (+{ledger.extra_events}); could be: "
        f"behind a failed entry {len(partial.exposed)}, sent by a dying publisher "
        f"{len(sent_by_dying(publisher_deaths))}"
    )

    for fault in faults:
        fault.clear()
    redriven = run.redrive()
    assert (redriven.events, redriven.batches) == (events, batches), run.explain(str(redriven))
    ledger = run.count()
    assert_nothing_lost_and_only_attributed_events_doubled(run, ledger, partial, publisher_deaths)
    assert not ledger.failed and not ledger.stale, run.explain(ledger.summary())
    assert all(len(ledger.events[version]) >= 1 for version in run.uploaded), run.explain(ledger.summary())
    print(f"after redrive: events duplicated {len(ledger.duplicate_events)} (+{ledger.extra_events})")


def assert_nothing_lost_and_only_attributed_events_doubled(
    run, ledger: Ledger, partial: PutEventsPartialFailures, publisher_deaths: WorkerDeaths
) -> None:
    attributed = partial.exposed | sent_by_dying(publisher_deaths)
    assert not ledger.lost and not ledger.strays and not ledger.duplicate_records, run.explain(
        ledger.summary()
    )
    doubled = {key for key, _ in ledger.duplicate_events}
    assert doubled <= attributed, run.explain(f"{ledger.summary()}; not attributed: {doubled - attributed}")
    for version in run.uploaded:
        requests = {event["requestId"] for event in ledger.events.get(version) or []}
        assert requests <= {record["requestId"] for record in ledger.records.get(version) or []}


def sent_by_dying(publisher_deaths: WorkerDeaths) -> set[str]:
    return {key for published in publisher_deaths.published_by_dead_invocations() for key in published}
