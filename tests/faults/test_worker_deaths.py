"""The worker process dying mid-invocation: botocore handlers loaded into the worker by the
local runtime end it at a chosen point, once per chosen object; Lambda retries the event."""

from __future__ import annotations

from s3flow.local.faults import (
    AFTER_PUBLISH,
    BEFORE_PUBLISH,
    STRICT_POINTS,
    WorkerDeaths,
    WorkerKiller,
    seed_from_env,
)


def deaths(run, tmp_path, **kwargs) -> WorkerDeaths:
    fault = WorkerDeaths(
        seed=run.seed,
        state_dir=tmp_path / "deaths",
        function_name=run.function,
        environment=run.worker_environment,
        **kwargs,
    )
    fault.install(run.pipeline)
    return fault


def test_a_crash_between_the_write_and_the_publish_is_finished_by_the_retry(start_run, tmp_path):
    # GIVEN the worker crashes on the first PutEvents of some objects, after their PENDING write
    run = start_run(seed_from_env(61))
    fault = deaths(run, tmp_path, rate=0.4, points=(BEFORE_PUBLISH,), how="crash")

    keys = run.upload(20)
    ledger = run.count()

    # THEN Lambda's retry finds the PENDING item and publishes it: one record, one event each
    expected = sorted(key for key in keys if fault.point_for(key))
    assert expected and sorted(fault.died_for()) == sorted(f"{key}\t{BEFORE_PUBLISH}" for key in expected)
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())
    assert len([f for f in run.flows if str(f.kind) == "retrying"]) == len(expected)
    fault.clear()


def test_a_worker_killed_anywhere_but_after_the_publish_loses_and_duplicates_nothing(start_run, tmp_path):
    # GIVEN SIGKILL before the write, after it, before the publish or after the PUBLISHED rewrite
    run = start_run(seed_from_env(62))
    fault = deaths(run, tmp_path, rate=0.5, points=STRICT_POINTS, how="kill")

    keys = run.upload(20)
    ledger = run.count()

    chosen = {key: fault.point_for(key) for key in keys if fault.point_for(key)}
    assert sorted(fault.died_for()) == sorted(f"{key}\t{point}" for key, point in chosen.items())
    assert len(set(chosen.values())) >= 3, run.explain(f"this seed kills at {set(chosen.values())}")
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())
    fault.clear()


def test_a_worker_killed_right_after_the_publish_republishes_the_event_known_limit(start_run, tmp_path):
    # GIVEN SIGKILL after PutEvents succeeded and before the PUBLISHED rewrite: the retry finds
    # the item PENDING and cannot know the event went out (docs/reliability.md, at-least-once)
    run = start_run(seed_from_env(63))
    fault = deaths(run, tmp_path, rate=0.3, points=(AFTER_PUBLISH,), how="kill")

    keys = run.upload(20)
    ledger = run.count()

    # THEN no record is lost or doubled; each killed object has exactly two events, the same
    # requestId in both (a consumer deduplicates on it), and every other object one
    killed = {key for key in keys if fault.point_for(key)}
    assert killed, run.explain("the seed must kill some")
    assert not ledger.lost and not ledger.strays and not ledger.failed, run.explain(ledger.summary())
    for version in run.uploaded:
        (record,) = ledger.records[version]
        assert record["eventState"] == "PUBLISHED"
        events = ledger.events[version]
        assert len(events) == (2 if version[0] in killed else 1), run.explain(f"{version}: {len(events)}")
        assert {event["requestId"] for event in events} == {record["requestId"]}
    fault.clear()


def test_workers_killed_from_outside_at_any_moment_lose_nothing(start_run):
    # GIVEN SIGKILL sent to a running worker process every ~0.3 s, whatever it is doing
    run = start_run(seed_from_env(64))
    killer = WorkerKiller(seed=run.seed, kills=6, period=0.3)
    killer.install(run.pipeline)

    run.upload(20)
    killer_done = run.pipeline.wait_idle(120)
    killer.clear()
    assert killer_done and killer.injected > 0, run.explain(f"killed {killer.injected}")
    ledger = run.count()
    run.redrive()  # an object killed on all three attempts waits in the failure queue
    ledger = run.count()

    # THEN every version has one PUBLISHED record and no failure is left; a kill between a
    # publish and the PUBLISHED rewrite may have sent its event again, with the same requestId
    assert not ledger.lost and not ledger.strays and not ledger.failed, run.explain(ledger.summary())
    for version in run.uploaded:
        (record,) = ledger.records[version]
        assert record["eventState"] == "PUBLISHED", run.explain(str(version))
        events = ledger.events[version]
        assert events and {e["requestId"] for e in events} == {record["requestId"]}, run.explain(str(version))
    print(f"killed {killer.injected} workers; extra events {sum(len(e) - 1 for e in ledger.events.values())}")
