"""DynamoDB throttling and 5xx on writes, injected by a proxy in front of the emulator."""

from __future__ import annotations

import json

import pytest

from s3flow.local.faults import seed_from_env, server_errors, throttling

# Per object hit: its PutItem fails 1 time (botocore's own retry absorbs it), 3 times (a
# Lambda retry finishes it) or until the fault clears (failure queue). BatchWriteItem (the
# PUBLISHED rewrite) fails once at most: past botocore's retries the processor leaves the
# item PENDING on purpose, see docs/reliability.md.
FAILURES = {"PutItem": (1, 3, 10_000), "BatchWriteItem": (1,)}


@pytest.mark.parametrize(
    ("make", "default_seed"),
    [
        (lambda seed: throttling(seed=seed, rate=0.4, failures=FAILURES), 41),
        (lambda seed: server_errors(seed=seed, rate=0.4, failures=FAILURES, status=500), 42),
        (lambda seed: server_errors(seed=seed, rate=0.4, failures=FAILURES, status=503), 43),
    ],
    ids=["throttled-400", "internal-500", "unavailable-503"],
)
def test_failed_writes_end_recorded_or_retained_and_redrive_finishes_them(start_run, make, default_seed):
    run = start_run(seed_from_env(default_seed))
    fault = make(run.seed)
    fault.install(run.pipeline)

    keys = run.upload()
    ledger = run.count()

    # THEN nothing is lost or duplicated; exactly the objects whose writes never recover wait
    run.assert_promise(ledger)
    stuck = [key for key in keys if fault.budgets["PutItem"].chosen(key) == 10_000]
    assert sorted(key for key, _ in ledger.failed) == sorted(stuck), run.explain(ledger.summary())
    assert stuck and fault.injected > len(stuck), run.explain(f"fault fired {fault.injected} times")

    # WHEN the fault clears and the failures are redriven
    fault.clear()
    assert run.redrive() == len(stuck)

    # THEN every object is recorded once, and no failure is left
    ledger = run.count()
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())


def test_a_published_rewrite_failing_past_every_retry_leaves_the_item_pending_known_limit(start_run):
    # GIVEN the PUBLISHED rewrite (BatchWriteItem) of some objects fails until the fault clears
    run = start_run(seed_from_env(44))
    fault = throttling(seed=run.seed, rate=0.3, failures={"BatchWriteItem": (10_000,)})
    fault.install(run.pipeline)

    keys = run.upload(20)
    ledger = run.count()

    # THEN their event went out once and nothing is retained, but the record stays PENDING:
    # the processor logs and counts it (``unmarked``) rather than retry and publish twice
    # (docs/data-model.md). Nothing is lost or duplicated; the record's state is behind.
    hit = {key for key in keys if fault.budgets["BatchWriteItem"].chosen(key)}
    assert hit, run.explain("the seed must hit some")
    assert not ledger.duplicated and not ledger.failed and not ledger.strays, run.explain(ledger.summary())
    for version in run.uploaded:
        (record,) = ledger.records[version]
        assert len(ledger.events[version]) == 1
        assert record["eventState"] == ("PENDING" if version[0] in hit else "PUBLISHED"), run.explain(
            str(version)
        )
    assert sorted(key for key, _ in ledger.lost) == sorted(hit)  # by the promise's strict reading

    # WHEN S3 delivers one of those records again after the fault cleared
    fault.clear()
    (key, version) = next(v for v in run.uploaded if v[0] in hit)
    (record,) = [r for r in run.received_records() if r["s3"]["object"]["versionId"] == version]
    run.client("lambda").invoke(FunctionName=run.function, Payload=json.dumps({"Records": [record]}))

    # THEN it is published a second time (same requestId) and marked PUBLISHED
    ledger = run.count()
    assert len(ledger.events[(key, version)]) == 2
    assert {e["requestId"] for e in ledger.events[(key, version)]} == {
        ledger.records[(key, version)][0]["requestId"]
    }
    assert ledger.records[(key, version)][0]["eventState"] == "PUBLISHED"
