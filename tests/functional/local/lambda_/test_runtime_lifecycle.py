"""The local runtime's lifecycle: stopping, the unfinished events it knows of, sandbox start
hooks, sandboxes that cannot start, and listeners added and removed.

``mark_sandbox`` below runs in the sandboxes, which import this module by name.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from s3flow.local.lambda_.invocation import CONDITION_RETRIES_EXHAUSTED, Invocation
from s3flow.local.lambda_.sandbox import Outcome, StartHook

from .runtime_support import Recorder, failures, make_runtime, spec


def test_stopping_cuts_running_invocations_short_without_retry_or_destination(server, runtimes, sqs):
    recorder = Recorder()
    runtime = make_runtime(server, spec("sleep"), listener=recorder)

    runtime.enqueue("fn-sleep", {"seconds": 60})
    runtime.stop()  # while its sandbox starts or runs the handler

    assert [kind for kind, _ in recorder.seen] == ["queued"]
    assert failures(sqs) == []


def test_workers_are_out_of_reach_of_the_terminals_ctrl_c(server, runtimes):
    # Ctrl-C signals the terminal's foreground process group: only the runtime's process
    # may get it (it stops the workers itself); a worker hit mid-invocation would fail it.
    runtime = make_runtime(server, spec("echo"))
    runtimes.append(runtime)

    outcome = runtime.invoke("fn-echo", {})

    assert outcome.ok
    assert os.getpgid(outcome.payload["pid"]) != os.getpgrp()


def test_a_worker_pipe_breaking_as_the_runtime_stops_is_not_reported_as_an_error(
    server, runtimes, monkeypatch, caplog
):
    runtime = make_runtime(server, spec("sleep"))
    queue = runtime._queues["fn-sleep"]
    attempting = threading.Event()

    def attempt_cut_short_by_stop(invocation: Invocation, sandbox: Any) -> Outcome:
        attempting.set()
        while not queue.stopping:
            time.sleep(0.01)
        raise ConnectionResetError("the worker's end of the pipe closed")  # as stop() kills it

    monkeypatch.setattr(runtime, "attempt", attempt_cut_short_by_stop)
    runtime.enqueue("fn-sleep", {"seconds": 0})
    assert attempting.wait(60)

    with caplog.at_level(logging.INFO, logger="s3flow.local"):
        runtime.stop()

    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


def test_the_runtime_knows_which_accepted_events_it_had_not_finished_when_stopped(server, runtimes, sqs):
    recorder = Recorder()
    runtime = make_runtime(server, spec("echo"), spec("sleep"), listener=recorder)
    runtimes.append(runtime)
    done = runtime.enqueue("fn-echo", {"n": 1})
    assert runtime.wait_idle(60)
    running = runtime.enqueue("fn-sleep", {"seconds": 60})  # cut short by stop
    waiting = runtime.enqueue("fn-sleep", {"seconds": 60})  # still queued behind it

    runtime.stop()

    unfinished = {invocation.request_id for invocation in runtime.unfinished()}
    assert unfinished == {running.request_id, waiting.request_id}
    assert done.request_id not in unfinished


def mark_sandbox(argument: str) -> None:
    """A sandbox start hook: runs in the worker before the handler is imported."""
    os.environ["STARTED_WITH"] = argument


def test_a_sandbox_start_hook_runs_in_new_sandboxes_without_changing_the_function_environment(
    server, runtimes
):
    runtime = make_runtime(server, spec("echo"))
    runtimes.append(runtime)
    before = runtime.invoke("fn-echo", {}).payload

    runtime.set_sandbox_start_hook("fn-echo", StartHook(f"{__name__}:mark_sandbox", "hooked"))
    hooked = runtime.invoke("fn-echo", {}).payload
    runtime.set_sandbox_start_hook("fn-echo", None)
    after = runtime.invoke("fn-echo", {}).payload

    assert hooked["environ"]["STARTED_WITH"] == "hooked"
    assert "STARTED_WITH" not in before["environ"] and "STARTED_WITH" not in after["environ"]
    assert len({before["pid"], hooked["pid"], after["pid"]}) == 3  # each change: new sandboxes


def test_added_listeners_hear_of_every_invocation_until_removed(server, runtimes):
    first, added = Recorder(), Recorder()
    runtime = make_runtime(server, spec("echo"), listener=first)
    runtimes.append(runtime)

    runtime.add_listener(added)
    heard = runtime.enqueue("fn-echo", {}).request_id
    assert runtime.wait_idle(30)
    runtime.remove_listener(added)
    unheard = runtime.enqueue("fn-echo", {}).request_id
    assert runtime.wait_idle(30)

    assert added.seen == [("queued", heard), ("succeeded", heard)]
    assert first.seen == added.seen + [("queued", unheard), ("succeeded", unheard)]


# A NUL byte cannot be put in a process environment: the worker process is never started.
UNSTARTABLE = {"BROKEN": "a\x00b"}


def test_a_sandbox_that_cannot_start_fails_a_synchronous_invocation_at_once(server, runtimes):
    runtime = make_runtime(server, spec("echo"), environment_overrides={"fn-echo": UNSTARTABLE})
    runtimes.append(runtime)

    # the bound only turns the old hang (timeout_seconds + 60) into a failure
    outcome = runtime.invoke("fn-echo", {}, timeout=20)

    assert not outcome.ok
    assert outcome.payload["errorType"] == "Runtime.ExitError"
    assert outcome.payload["requestId"] and "embedded null byte" in outcome.payload["errorMessage"]


def test_a_sandbox_that_cannot_start_is_a_failed_async_attempt_retried_then_sent_to_the_destination(
    server, runtimes, sqs
):
    recorder = Recorder()
    runtime = make_runtime(
        server, spec("echo", retries=1), listener=recorder, environment_overrides={"fn-echo": UNSTARTABLE}
    )
    runtimes.append(runtime)

    invocation = runtime.enqueue("fn-echo", {"name": "never-run"})
    assert runtime.wait_idle(60)

    assert [kind for kind, _ in recorder.seen] == ["queued", "retrying", CONDITION_RETRIES_EXHAUSTED]
    assert runtime.unfinished() == []
    (record,) = failures(sqs)
    assert record["requestContext"]["requestId"] == invocation.request_id
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"]["errorType"] == "Runtime.ExitError"
    assert record["requestPayload"] == {"name": "never-run"}
