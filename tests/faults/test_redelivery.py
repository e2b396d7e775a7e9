"""Duplicate and out-of-order deliveries of records S3 already delivered.

Rounds are delivered one after the other (each record once per round): the processor's
idempotency covers sequential redelivery. Two deliveries of one record processed at the
same moment can publish twice (docs/data-model.md, known limit), so no round holds a record
twice.
"""

from __future__ import annotations

import json

from s3flow.local.faults import Redelivery, seed_from_env


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


def test_a_cleared_redelivery_schedules_no_more_rounds():
    fault = Redelivery(seed=1, copies=3, per_event=2)
    records = [{"n": index} for index in range(5)]
    rounds = fault.rounds(records)

    first = next(rounds)
    fault.clear()

    assert sorted(r["n"] for event in first for r in event["Records"]) == [0, 1, 2, 3, 4]
    assert list(rounds) == []
