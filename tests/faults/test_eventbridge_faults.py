"""EventBridge PutEvents partial failures and outages, injected by a proxy in front of the
emulator's EventBridge. They hit the publisher: the processor only writes, so every object
is recorded whatever EventBridge does, and what the publisher cannot announce waits in the
publisher's failure queue: as the entry itself when a retry of its batch would resend
accepted entries behind it, else as the stream batch's position past the mapping's retries."""

from __future__ import annotations

import json

import pytest

from s3flow import contract
from s3flow.testing.faults.proxy import EventBridgeOutage, PutEventsPartialFailures
from s3flow.testing.faults.seeds import seed_from_env
from s3flow.testing.ledger import count


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


def test_entries_failing_past_the_publishers_retries_are_kept_and_redriven_once_each(start_run):
    # GIVEN entries of some objects fail 1 time, 5 times (past the publisher's 4 tries) or
    # until the fault clears, while the other entries of the same requests are accepted
    run = start_run(seed_from_env(52))
    fault = PutEventsPartialFailures(seed=run.seed, rate=0.5, failures=(1, 5, 10_000))
    fault.install(run.pipeline)

    keys = run.upload()
    before = run.count()

    # THEN nothing is lost or doubled: an entry refused with accepted ones behind it is kept in
    # the publisher's failure queue as the entry itself (a retry of its batch would have sent
    # the accepted ones again); one refused with nothing accepted behind it is retried by the
    # mapping, and past its retries the batch's position is kept
    stuck = {key for key in keys if fault.budget.chosen(key) == 10_000}
    assert stuck and fault.injected > len(stuck), run.explain(f"fault fired {fault.injected} times")
    assert not before.lost and not before.strays, run.explain(before.summary())
    assert not before.duplicate_records and not before.duplicate_events, run.explain(before.summary())
    assert stuck <= {key for key, _ in before.failed}, run.explain(before.summary())
    assert before.unpublished == before.failed and not before.stale, run.explain(before.summary())
    kept = before.retained_messages(publisher=True)
    print(f"stuck {len(stuck)}, retained {len(before.failed)} in {kept} message(s)", end=", ")
    print(f"fault fired {fault.injected}")

    # WHEN the fault clears and a new publisher container (it remembers nothing) is redriven
    fault.clear()
    run.pipeline.override_environment(run.publisher, run.publisher_environment)  # new containers
    redriven = run.redrive()
    assert (redriven.events, redriven.batches) == (0, kept), run.explain(str(redriven))

    # THEN no failure is left and every object has exactly one record and one event
    after = run.count()
    run.assert_promise(after, failed=0)
    assert not after.duplicate_events, run.explain(after.summary())


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
