"""DynamoDB throttling and 5xx on writes, injected by a proxy in front of the emulator."""

from __future__ import annotations

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
