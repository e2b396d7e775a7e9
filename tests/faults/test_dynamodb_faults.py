"""DynamoDB throttling and 5xx on the processor's one write (its conditional PutItem),
injected by a proxy in front of the emulator."""

from __future__ import annotations

import pytest

from s3flow.testing.faults.proxy import server_errors, throttling
from s3flow.testing.faults.seeds import seed_from_env

# Per object hit: its PutItem fails 1 time (the client's own retry absorbs it), 3 times (a
# Lambda retry finishes it) or until the fault clears (the processor's failure queue).
FAILURES = {"PutItem": (1, 3, 10_000)}


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

    # THEN nothing is lost or duplicated; exactly the objects whose write never recovers wait,
    # unwritten, in the processor's failure queue (the publisher has nothing of theirs)
    run.assert_promise(ledger)
    stuck = sorted(key for key in keys if fault.budgets["PutItem"].chosen(key) == 10_000)
    assert sorted(key for key, _ in ledger.failed) == stuck, run.explain(ledger.summary())
    assert stuck and fault.injected > len(stuck), run.explain(f"fault fired {fault.injected} times")
    assert not any(ledger.records.get(version) for version in ledger.failed), run.explain(ledger.summary())
    assert ledger.retained_messages(publisher=True) == 0, run.explain(ledger.summary())

    # WHEN the fault clears and the failures are redriven
    fault.clear()
    redriven = run.redrive()
    assert (redriven.events, redriven.batches) == (len(stuck), 0), run.explain(str(redriven))

    # THEN every object is recorded once, announced once, and no failure is left
    ledger = run.count()
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())


def test_a_write_that_landed_but_whose_answer_was_a_5xx_is_not_written_or_announced_twice(start_run):
    # GIVEN the PutItem of some objects reaches the table, then answers 500 (1 or 3 times):
    # the client's retry, then Lambda's, repeats a write that is already there
    run = start_run(seed_from_env(45))
    fault = server_errors(seed=run.seed, rate=0.5, failures={"PutItem": (1, 3)}, status=500, after_write=True)
    fault.install(run.pipeline)

    keys = run.upload(20)
    ledger = run.count()

    # THEN the retries find the record (the condition attribute_not_exists fails) and write
    # nothing; the stream has one INSERT per object, so one event: nothing retained either
    hit = [key for key in keys if fault.budgets["PutItem"].chosen(key)]
    assert hit and fault.written >= len(hit), run.explain(f"{len(hit)} hit, {fault.written} written")
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())
