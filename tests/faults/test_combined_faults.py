"""Every fault at once (except the two documented windows): the promise still holds, and a
redrive after the faults clear leaves nothing behind."""

from __future__ import annotations

from s3flow.local.faults import (
    STRICT_POINTS,
    EventAgeExpiry,
    PutEventsPartialFailures,
    WorkerDeaths,
    seed_from_env,
    throttling,
)


def test_throttling_partial_publishes_worker_kills_and_expiry_together(start_run, tmp_path):
    run = start_run(seed_from_env(91))
    faults = [
        throttling(seed=run.seed, rate=0.2, failures={"PutItem": (1, 3, 10_000), "BatchWriteItem": (1,)}),
        PutEventsPartialFailures(seed=run.seed, rate=0.2, failures=(1, 5, 10_000)),
        WorkerDeaths(
            seed=run.seed,
            rate=0.2,
            state_dir=tmp_path / "deaths",
            function_name=run.function,
            points=STRICT_POINTS,
            environment=run.worker_environment,
        ),
        EventAgeExpiry(seed=run.seed, rate=0.1),
    ]
    for fault in faults:
        fault.install(run.pipeline)

    run.upload()
    ledger = run.count()

    run.assert_promise(ledger)
    assert ledger.failed and all(fault.injected for fault in faults), run.explain(
        f"{ledger.summary()}; injected {[(f.name, f.injected) for f in faults]}"
    )

    for fault in faults:
        fault.clear()
    assert run.redrive() == sum(len(ledger.failures[version]) for version in ledger.failed)
    ledger = run.count()
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())
