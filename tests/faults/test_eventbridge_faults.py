"""EventBridge PutEvents partial failures and outages, injected by a proxy in front of the
emulator's EventBridge. They hit the publisher: the processor only writes, so every object
is recorded whatever EventBridge does, and what the publisher cannot announce past the
mapping's retries waits as a stream batch in the publisher's failure queue."""

from __future__ import annotations

import json

import pytest

from s3flow import contract
from s3flow.local.faults import EventBridgeOutage, PutEventsPartialFailures, count, seed_from_env


def test_entries_failing_within_the_publishers_own_retries_are_published_once(start_run):
    # GIVEN entries of half the objects fail 1 or 3 times: the publisher's own loop tries
    # failed entries 4 times, so every batch succeeds without the mapping retrying it
    run = start_run(seed_from_env(51))
    fault = PutEventsPartialFailures(seed=run.seed, rate=0.5, failures=(1, 3))
    fault.install(run.pipeline)

    keys = run.upload()
    ledger = run.count()

    # THEN one record and one event each, nothing retained
    hit = [key for key in keys if fault.budget.chosen(key)]
    assert hit and fault.injected > len(hit), run.explain(f"fault fired {fault.injected} times")
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())


def test_entries_failing_past_the_publishers_retries_are_republished_only_by_a_new_container_known_limit(
    start_run,
):
    # GIVEN entries of some objects fail 1 time, 5 times (past the publisher's 4 tries: it
    # reports the earliest failed record and the mapping retries the batch from there) or
    # until the fault clears (past the mapping's 10 retries: the publisher's failure queue)
    run = start_run(seed_from_env(52))
    fault = PutEventsPartialFailures(seed=run.seed, rate=0.5, failures=(1, 5, 10_000))
    fault.install(run.pipeline)

    keys = run.upload()
    before = run.count()

    # THEN nothing is lost and every object is recorded exactly once; the stuck ones wait,
    # recorded and unannounced, in the publisher's failure queue
    stuck = {key for key in keys if fault.budget.chosen(key) == 10_000}
    assert stuck and fault.injected > len(stuck), run.explain(f"fault fired {fault.injected} times")
    assert not before.lost and not before.strays, run.explain(before.summary())
    assert not before.duplicate_records, run.explain(before.summary())
    assert stuck <= {key for key, _ in before.failed}, run.explain(before.summary())
    assert before.unpublished == before.failed, run.explain(before.summary())
    # and a retried batch holds again the records EventBridge accepted behind a failed entry
    # in the same request: a warm publisher container remembers and skips them, a new one
    # would send them again. Only those can have an extra event, and the failed batch's
    # message still names the published ones (stale) as well as the unannounced ones.
    exposed = {version for version in run.uploaded if version[0] in fault.exposed}
    assert set(before.duplicate_events) <= exposed, run.explain(before.summary())
    assert set(before.stale) <= exposed, run.explain(before.summary())
    named = {v for v in run.uploaded if any("DDBStreamBatchInfo" in f for f in before.failures.get(v) or [])}
    batches = before.retained_messages(publisher=True)
    print(
        f"stuck {len(stuck)}, retained {len(before.failed)}, exposed {len(exposed)}, duplicated "
        f"{len(before.duplicate_events)} (+{before.extra_events} events), published yet named by a failed "
        f"batch {len(before.stale)}, {batches} failed batch(es), fault fired {fault.injected}"
    )

    # WHEN the fault clears and, as hours later on AWS, a new publisher container redrives
    # the failed batches: it remembers nothing, so it publishes every record they name
    fault.clear()
    run.pipeline.override_environment(run.publisher, run.publisher_environment)  # new containers
    redriven = run.redrive()
    assert (redriven.events, redriven.batches) == (0, batches), run.explain(str(redriven))

    # THEN no failure is left and every object is announced; each version a failed batch
    # named gets exactly one more event (the stale ones: a duplicate, same requestId), no other
    after = run.count()
    assert not after.lost and not after.strays and not after.failed and not after.stale, run.explain(
        after.summary()
    )
    assert not after.duplicate_records, run.explain(after.summary())
    for version in run.uploaded:
        (record,) = after.records[version]
        events = after.events[version]
        expected = len(before.events.get(version) or []) + (version in named)
        assert len(events) == expected, run.explain(f"{version}: {len(events)} events, expected {expected}")
        assert {event["requestId"] for event in events} == {record["requestId"]}
    print(f"after redrive: duplicated {len(after.duplicate_events)} (+{after.extra_events} events)")


def test_a_partial_failure_answers_for_each_entry_and_forwards_the_others_to_the_rules(start_run):
    # GIVEN a partial-failure fault, and eight entries of which it fails some (seeded)
    run = start_run(seed_from_env(55))
    fault = PutEventsPartialFailures(seed=run.seed, rate=0.5, failures=(1,))
    fault.install(run.pipeline)
    keys = [f"direct/{index}.txt" for index in range(8)]
    failing = [key for key in keys if fault.budget.chosen(key)]
    assert 0 < len(failing) < len(keys), run.explain("the seed must fail some entries, not all")
    entries = [
        {
            "Source": contract.EVENT_SOURCE,
            "DetailType": contract.DETAIL_TYPE_SUCCESS,
            "Detail": json.dumps({"objectKey": key, "requestId": key, "status": "SUCCESS"}),
            "EventBusName": run.outputs["EventBusName"],
        }
        for key in keys
    ]

    # WHEN they are put in one request
    answer = run.client("events").put_events(Entries=entries)

    # THEN the failed ones carry an ErrorCode, the others an EventId, in request order
    assert answer["FailedEntryCount"] == len(failing)
    for key, result in zip(keys, answer["Entries"], strict=True):
        assert ("ErrorCode" in result) == (key in failing), run.explain(f"{key}: {result}")
        assert ("EventId" in result) == (key not in failing), run.explain(f"{key}: {result}")
    # and only the others reached the rules' log group
    run.settle()
    ledger = count([(key, None) for key in keys], endpoint_url=run.pipeline.endpoint_url, outputs=run.outputs)
    assert sorted(key for key, _ in ledger.events) == sorted(set(keys) - set(failing))


@pytest.mark.parametrize(
    "outage",
    [lambda: EventBridgeOutage(status=503), lambda: EventBridgeOutage(status=500)],
    ids=["503-until-cleared", "500-until-cleared"],
)
def test_an_event_bus_outage_keeps_every_object_recorded_and_unpublished_until_redriven(start_run, outage):
    run = start_run(seed_from_env(53))
    fault = outage()
    fault.install(run.pipeline)

    run.upload(16)
    ledger = run.count()

    # THEN every object is recorded once, no event went out, and every batch the publisher
    # took waits in its failure queue once the mapping's 10 retries are spent
    run.assert_promise(ledger, failed=len(run.uploaded))
    assert ledger.unpublished == run.uploaded, run.explain(ledger.summary())
    batches = ledger.retained_messages(publisher=True)
    assert batches >= 1 and ledger.retained_messages(publisher=False) == 0, run.explain(ledger.summary())
    print(f"outage: {fault.injected} PutEvents refused; {len(ledger.failed)} objects in {batches} batch(es)")

    # WHEN the outage ends and redrive republishes the batches
    fault.clear()
    redriven = run.redrive()
    assert (redriven.events, redriven.batches) == (0, batches), run.explain(str(redriven))

    ledger = run.count()
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())


def test_a_short_outage_is_ridden_out_by_retries(start_run):
    # GIVEN the first 12 PutEvents calls fail with 503, whichever objects they carry: three
    # publisher invocations' worth of tries (4 each), well within the mapping's 10 retries
    run = start_run(seed_from_env(54))
    fault = EventBridgeOutage(status=503, requests=12)
    fault.install(run.pipeline)

    run.upload()
    ledger = run.count()

    assert fault.injected == 12
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())
