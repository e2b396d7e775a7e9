"""Duplicate and out-of-order deliveries of records S3 already delivered.

The processor's one conditional PutItem decides which delivery records an object version;
the others write nothing, so the stream shows one INSERT and the publisher one event,
whether the copies arrive one round after another or all at once.
"""

from __future__ import annotations

import json
import random

from s3flow.testing.faults.redelivery import Redelivery
from s3flow.testing.faults.seeds import seed_from_env


def test_duplicated_reordered_and_regrouped_records_make_one_record_and_one_event_each(start_run):
    # GIVEN three versions of each of ten keys, delivered and recorded once
    run = start_run(seed_from_env(81))
    run.upload(10, prefix="redelivered", versions=3)
    run.settle()
    records = run.received_records()
    assert len(records) == len(run.uploaded) == 30

    # WHEN every record is delivered twice more, shuffled (newer versions before older ones)
    # and packed three to an event, through Lambda's Invoke API
    fault = Redelivery(seed=run.seed, copies=2, per_event=3)
    lam = run.client("lambda")
    for round_ in fault.rounds(records):
        for event in round_:
            answer = lam.invoke(FunctionName=run.function, InvocationType="Event", Payload=json.dumps(event))
            assert answer["StatusCode"] == 202
        run.settle()

    # THEN still one record and one event per version, no failure
    assert fault.injected == 60
    ledger = run.count()
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())
    # and every delivery did finish: a "recorded" flow per record of each finished invocation
    recorded = [flow for flow in run.flows if str(flow.kind) == "recorded"]
    assert len(recorded) == 30 + 60


def test_copies_delivered_all_at_once_still_make_one_record_and_one_event_each(start_run):
    # GIVEN ten keys, delivered and recorded once
    run = start_run(seed_from_env(82))
    run.upload(10, prefix="concurrent", versions=1)
    run.settle()
    records = run.received_records()

    # WHEN three more copies of every record are queued at once, the copies of a record next
    # to each other (records in seeded order): the two sandboxes run copies of the same
    # record side by side
    order = records[:]
    random.Random(run.seed).shuffle(order)
    events = [{"Records": [record]} for record in order for _ in range(3)]
    lam = run.client("lambda")
    for event in events:
        answer = lam.invoke(FunctionName=run.function, InvocationType="Event", Payload=json.dumps(event))
        assert answer["StatusCode"] == 202

    # THEN the conditional write let one copy in: one record and one event per version
    ledger = run.count()
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())
    assert len([flow for flow in run.flows if str(flow.kind) == "recorded"]) == 10 + 30


def test_a_cleared_redelivery_schedules_no_more_rounds():
    fault = Redelivery(seed=1, copies=3, per_event=2)
    records = [{"n": index} for index in range(5)]
    rounds = fault.rounds(records)

    first = next(rounds)
    fault.clear()

    assert sorted(r["n"] for event in first for r in event["Records"]) == [0, 1, 2, 3, 4]
    assert list(rounds) == []
