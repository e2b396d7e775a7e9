"""A function's MemorySize, enforced as Lambda enforces it: a sandbox whose memory goes past it
is killed, the invocation fails with ``Runtime.OutOfMemory`` (an asynchronous one is retried,
then sent to the failure destination), the next invocation gets a new sandbox, and every REPORT
line says how much memory the sandbox used (``lambda_.memory``)."""

from __future__ import annotations

import dataclasses
import re

from s3flow.local.deployment import FunctionSpec
from s3flow.local.lambda_.runtime import Listener

from .runtime_support import Recorder, failures, make_runtime, spec

# By the name this package was imported under: the sandbox imports it from the parent's sys.path.
HANDLERS = f"{__package__}.limits_handlers"


def small(handler: str, *, retries: int = 2, timeout: int = 30) -> FunctionSpec:
    """A function with Lambda's smallest memory, 128 MB, running ``limits_handlers.<handler>``."""
    base = spec(handler, retries=retries, timeout=timeout)
    return dataclasses.replace(base, handler=f"{HANDLERS}.{handler}", memory_mb=128)


class Reports(Listener):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def logged(self, function_name: str, line: str) -> None:
        self.lines.append(line)

    def reports(self) -> list[str]:
        return [line for line in self.lines if line.startswith("REPORT ")]


def out_of_memory(request_id: str) -> dict[str, str]:
    return {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
        "requestId": request_id,
    }


def test_a_handler_that_holds_more_than_its_memory_is_killed_while_it_runs(server, runtimes):
    runtime = make_runtime(server, small("hold", timeout=5))
    runtimes.append(runtime)

    # 200 MB in a 128 MB function, then a sleep past the timeout: only a kill while it runs
    # makes this anything but a timeout
    outcome = runtime.invoke("fn-hold", {"mb": 200, "then_sleep": 10})

    assert not outcome.ok
    assert outcome.payload == out_of_memory(outcome.payload["requestId"])
    assert outcome.max_memory_mb == 128  # as Lambda reads it: Memory Size


def test_memory_past_the_limit_fails_the_invocation_even_if_freed_before_the_answer(server, runtimes):
    runtime = make_runtime(server, small("spike"))
    runtimes.append(runtime)

    outcome = runtime.invoke("fn-spike", {"mb": 200})

    assert outcome.payload == out_of_memory(outcome.payload["requestId"])


def test_a_handler_under_its_memory_succeeds_and_each_report_says_the_peak_so_far(server, runtimes):
    heard = Reports()
    runtime = make_runtime(server, small("hold"), listener=heard)
    runtimes.append(runtime)

    first = runtime.invoke("fn-hold", {"mb": 0})
    second = runtime.invoke("fn-hold", {"mb": 40})
    third = runtime.invoke("fn-hold", {"mb": 0})  # the 40 MB are still held

    assert first.ok and second.ok and third.ok
    assert first.payload["pid"] == second.payload["pid"] == third.payload["pid"]
    assert first.max_memory_mb is not None and first.max_memory_mb < 64  # the sandbox alone
    assert second.max_memory_mb is not None and second.max_memory_mb >= first.max_memory_mb + 40
    assert third.max_memory_mb == second.max_memory_mb  # a high-water mark
    cold, warm, _ = heard.reports()
    fields = r"REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB"
    assert re.fullmatch(
        fields + rf"\tMax Memory Used: {first.max_memory_mb} MB\tInit Duration: [\d.]+ ms", cold
    )
    assert re.fullmatch(fields + rf"\tMax Memory Used: {second.max_memory_mb} MB", warm)


def test_the_report_of_an_invocation_out_of_memory_names_the_error_and_the_next_is_a_cold_start(
    server, runtimes
):
    heard = Reports()
    runtime = make_runtime(server, small("hold"), listener=heard)
    runtimes.append(runtime)
    warm = runtime.invoke("fn-hold", {"mb": 0})

    killed = runtime.invoke("fn-hold", {"mb": 200})
    after = runtime.invoke("fn-hold", {"mb": 0})

    request_id = killed.payload["requestId"]
    report = heard.reports()[1]
    assert report.startswith(f"REPORT RequestId: {request_id}\t")
    assert report.endswith(
        "\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory"
    )
    assert heard.lines[heard.lines.index(report) + 1] == (
        f"RequestId: {request_id} Error: Runtime exited with error: signal: killed\nRuntime.OutOfMemory"
    )
    assert after.ok and after.init is not None and after.payload["pid"] != warm.payload["pid"]
    assert after.payload["held_mb"] == 0


def test_an_event_out_of_memory_is_retried_then_sent_to_the_failure_destination(server, runtimes, sqs):
    recorder = Recorder()
    runtime = make_runtime(server, small("hold", retries=1), listener=recorder)
    runtimes.append(runtime)

    invocation = runtime.enqueue("fn-hold", {"mb": 200})
    assert runtime.wait_idle(60)

    assert [kind for kind, _ in recorder.seen] == ["queued", "retrying", "RetriesExhausted"]
    (record,) = failures(sqs)
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"] == out_of_memory(invocation.request_id)
