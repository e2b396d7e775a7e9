"""Worker processes dying mid-invocation, of both functions.

``WorkerDeaths``: a call interceptor on the functions' AWS client, installed in each new worker by
the runtime's sandbox start hook, ends it at a chosen point, once per chosen object. A dead
processor attempt is retried by Lambda's async retries; a dead publisher attempt by the stream
mapping (the whole batch, bisected).
``WorkerKiller``: SIGKILL from outside to any worker of either function, at any moment.
"""

from __future__ import annotations

from collections import Counter

from s3flow.testing.faults.seeds import seed_from_env
from s3flow.testing.faults.workers import (
    AFTER_PUBLISH,
    AFTER_WRITE,
    BEFORE_PUBLISH,
    BEFORE_WRITE,
    PROCESSOR_POINTS,
    WorkerDeaths,
    WorkerKiller,
)


def processor_deaths(run, tmp_path, **kwargs) -> WorkerDeaths:
    fault = WorkerDeaths(
        seed=run.seed,
        state_dir=tmp_path / "processor-deaths",
        function_name=run.function,
        **kwargs,
    )
    fault.install(run.pipeline)
    return fault


def publisher_deaths(run, tmp_path, **kwargs) -> WorkerDeaths:
    fault = WorkerDeaths(
        seed=run.seed,
        state_dir=tmp_path / "publisher-deaths",
        function_name=run.publisher,
        name="publisher-deaths",
        **kwargs,
    )
    fault.install(run.pipeline)
    return fault


def test_a_processor_crashing_right_after_its_write_is_retried_into_nothing_new(start_run, tmp_path):
    # GIVEN the processor's worker exits abruptly right after the PutItem of some objects
    # succeeded, before the invocation could answer
    run = start_run(seed_from_env(61))
    fault = processor_deaths(run, tmp_path, rate=0.4, points=(AFTER_WRITE,), how="crash")

    keys = run.upload(20)
    ledger = run.count()

    # THEN Lambda's retry finds the record (its conditional write fails) and writes nothing;
    # the stream saw one INSERT: one record and one event each, nothing retained
    expected = sorted(key for key in keys if fault.point_for(key))
    assert expected and fault.died_for() == sorted(f"{key}\t{AFTER_WRITE}" for key in expected)
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())
    assert len([f for f in run.flows if str(f.kind) == "retrying"]) == len(expected)
    fault.clear()


def test_a_processor_killed_before_or_after_its_write_loses_and_duplicates_nothing(start_run, tmp_path):
    # GIVEN SIGKILL to the processor's worker before the PutItem of some objects, or after it
    run = start_run(seed_from_env(62))
    fault = processor_deaths(run, tmp_path, rate=0.5, points=PROCESSOR_POINTS, how="kill")

    keys = run.upload(20)
    ledger = run.count()

    chosen = {key: fault.point_for(key) for key in keys if fault.point_for(key)}
    assert fault.died_for() == sorted(f"{key}\t{point}" for key, point in chosen.items())
    points = set(chosen.values())
    assert points == {BEFORE_WRITE, AFTER_WRITE}, run.explain(f"this seed kills at {points}")
    run.assert_promise(ledger, failed=0)
    assert all(map(ledger.recorded, run.uploaded)), run.explain(ledger.summary())
    print(f"processor killed for {len(chosen)}: {sorted(Counter(chosen.values()).items())}")
    fault.clear()


def assert_republished_exactly_what_dying_publishers_had_sent(run, ledger, fault: WorkerDeaths) -> Counter:
    """Each version: one record; 1 + (deaths of a publisher invocation that had already sent
    its event) events, all with the record's requestId. Returns those per-key death counts."""
    sent = fault.published_by_dead_invocations()
    dying = Counter(key for published in sent for key in published)
    assert len(sent) == len(fault.died_for()), run.explain(str(fault.died_for()))
    assert not ledger.duplicate_records, run.explain(ledger.summary())
    for version in run.uploaded:
        (record,) = ledger.records[version]
        events = ledger.events[version]
        assert len(events) == 1 + dying[version[0]], run.explain(f"{version}: {len(events)} events")
        assert {event["requestId"] for event in events} == {record["requestId"]}, run.explain(str(version))
    assert {key for key, _ in ledger.duplicate_events} == set(dying), run.explain(ledger.summary())
    return dying


def test_a_publisher_killed_before_a_publish_republishes_only_what_that_invocation_had_sent(
    start_run, tmp_path
):
    # GIVEN SIGKILL to the publisher's worker when it is about to send a PutEvents holding a
    # chosen object: nothing of that call goes out (but an earlier chunk, or the first try of
    # a retried chunk, of the same invocation may have)
    run = start_run(seed_from_env(65))
    fault = publisher_deaths(run, tmp_path, rate=0.4, points=(BEFORE_PUBLISH,), how="kill")

    keys = run.upload(20)
    ledger = run.count()

    # THEN the mapping delivers the batch again: nothing is lost or retained, and the only
    # events sent twice are those an earlier PutEvents of a dying invocation had sent (none
    # when the death came before the invocation's first PutEvents)
    died = fault.died_for()
    assert died and all(line.endswith(f"\t{BEFORE_PUBLISH}") for line in died), run.explain(str(died))
    assert {line.split("\t")[0] for line in died} <= {key for key in keys if fault.point_for(key)}
    assert not ledger.lost and not ledger.strays and not ledger.failed, run.explain(ledger.summary())
    dying = assert_republished_exactly_what_dying_publishers_had_sent(run, ledger, fault)
    before_first = sum(1 for published in fault.published_by_dead_invocations() if not published)
    print(
        f"publisher killed {len(died)} times before a PutEvents ({before_first} before the invocation's "
        f"first); {len(dying)} objects published again (+{ledger.extra_events} events)"
    )
    fault.clear()


def test_a_publisher_killed_right_after_its_publish_republishes_that_invocations_events_known_floor(
    start_run, tmp_path
):
    # GIVEN SIGKILL to the publisher's worker right after a PutEvents holding a chosen object
    # succeeded: the invocation never answers, so Lambda never checkpoints the batch and
    # delivers it again. No producer can tell "published, then died" from "died first".
    run = start_run(seed_from_env(63))
    fault = publisher_deaths(run, tmp_path, rate=0.3, points=(AFTER_PUBLISH,), how="kill")

    run.upload(20)
    ledger = run.count()

    # THEN nothing is lost or retained, and no record is written twice
    died = fault.died_for()
    assert died, run.explain("the seed must kill some")
    assert not ledger.lost and not ledger.strays and not ledger.failed, run.explain(ledger.summary())
    assert not ledger.duplicate_records, run.explain(ledger.summary())
    # and the events sent twice are exactly those the dying invocations had published (every
    # PutEvents of theirs that succeeded): one more copy per death that had published it,
    # every copy with the same detail.requestId as the one record (consumers dedupe on it)
    dying = assert_republished_exactly_what_dying_publishers_had_sent(run, ledger, fault)
    print(
        f"publisher killed {len(died)} times after a PutEvents; {len(dying)} objects published again "
        f"(+{ledger.extra_events} events), 0 records duplicated"
    )
    fault.clear()


def test_workers_of_both_functions_killed_from_outside_at_any_moment_lose_nothing(start_run):
    # GIVEN SIGKILL sent to a running worker process (processor or publisher) every ~0.3 s,
    # whatever it is doing: mid-write, mid-PutEvents, between calls, mid-retry
    run = start_run(seed_from_env(64))
    killer = WorkerKiller(seed=run.seed, kills=10, period=0.3)
    killer.install(run.pipeline)

    run.upload(20)
    killer_done = run.pipeline.wait_idle(120)
    killer.clear()
    assert killer_done and killer.injected > 0, run.explain(f"killed {killer.injected}")
    assert set(killer.killed) <= {run.function, run.publisher}, run.explain(str(killer.killed))
    run.count()
    run.redrive()  # an object killed on all three processor attempts waits in a failure queue
    ledger = run.count()

    # THEN every version has exactly one record and at least one event, and no failure is
    # left. A kill can land after a PutEvents succeeded and before the publisher answered:
    # that batch is published again (when these kills landed is not replayable, so those
    # copies are counted, not attributed); each copy carries the record's requestId.
    assert not ledger.lost and not ledger.strays and not ledger.failed, run.explain(ledger.summary())
    assert not ledger.duplicate_records, run.explain(ledger.summary())
    for version in run.uploaded:
        (record,) = ledger.records[version]
        events = ledger.events[version]
        assert events and {e["requestId"] for e in events} == {record["requestId"]}, run.explain(
            f"{version}: killed {killer.injected}; event duplicates {len(ledger.duplicate_events)} "
            f"(+{ledger.extra_events})"
        )
    print(
        f"killed {killer.injected} workers ({dict(killer.killed)}); records duplicated 0; events duplicated "
        f"{len(ledger.duplicate_events)} (+{ledger.extra_events})"
    )
