"""EventBridge PutEvents partial failures and outages, injected by a proxy in front of the
emulator's EventBridge."""

from __future__ import annotations

import json

import pytest

from s3flow import contract
from s3flow.local.faults import EventBridgeOutage, PutEventsPartialFailures, count, seed_from_env


def test_partially_failed_put_events_end_recorded_or_retained(start_run):
    # GIVEN entries of some objects fail 1 time (the publisher's retry of failed entries
    # absorbs it), 5 times (a Lambda retry finishes it) or until the fault clears
    run = start_run(seed_from_env(51))
    fault = PutEventsPartialFailures(seed=run.seed, rate=0.5, failures=(1, 5, 10_000))
    fault.install(run.pipeline)

    keys = run.upload()
    ledger = run.count()

    run.assert_promise(ledger)
    stuck = sorted(key for key in keys if fault.budget.chosen(key) == 10_000)
    assert sorted(key for key, _ in ledger.failed) == stuck, run.explain(ledger.summary())
    assert stuck and fault.injected > len(stuck), run.explain(f"fault fired {fault.injected} times")

    fault.clear()
    assert run.redrive() == len(stuck)
    ledger = run.count()
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())


def test_a_partial_failure_answers_for_each_entry_and_forwards_the_others_to_the_rules(start_run):
    # GIVEN a partial-failure fault, and eight entries of which it fails some (seeded)
    run = start_run(seed_from_env(52))
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
def test_an_event_bus_outage_keeps_every_object_as_a_failure_until_redriven(start_run, outage):
    run = start_run(seed_from_env(53))
    fault = outage()
    fault.install(run.pipeline)

    run.upload(16)  # every attempt of every object fails: fewer objects keep the test short
    ledger = run.count()

    # THEN every object waits in the failure queue, written PENDING, with no event
    run.assert_promise(ledger, failed=len(run.uploaded))
    assert all(len(ledger.records.get(v, [])) == 1 for v in run.uploaded), run.explain(ledger.summary())

    fault.clear()
    assert run.redrive() == len(run.uploaded)
    ledger = run.count()
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())


def test_a_short_outage_is_ridden_out_by_retries(start_run):
    # GIVEN the first 12 PutEvents calls fail with 503, whichever objects they carry
    run = start_run(seed_from_env(54))
    fault = EventBridgeOutage(status=503, requests=12)
    fault.install(run.pipeline)

    run.upload()
    ledger = run.count()

    assert fault.injected == 12
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())
