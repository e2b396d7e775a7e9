"""Each line a function writes reaches the runtime's listeners as it is written (``local up``
turns warnings and errors into lines under their object)."""

from __future__ import annotations

import json
import time

from s3flow.local.lambda_.runtime import Listener

from .runtime_support import make_runtime, spec


class Lines(Listener):
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def logged(self, function_name: str, line: str) -> None:
        self.lines.append((function_name, line))

    def ours(self) -> list[dict[str, str]]:
        return [json.loads(line) for name, line in self.lines if name == "fn-warn" and line.startswith("{")]


def test_the_listeners_hear_each_line_a_function_writes(server, runtimes):
    heard = Lines()
    runtime = make_runtime(server, spec("warn"), listener=heard)
    runtimes.append(runtime)

    runtime.invoke("fn-warn", {})

    # The sandbox's output is read on its own thread: a line may land just after the answer.
    deadline = time.monotonic() + 10
    while not heard.ours() and time.monotonic() < deadline:
        time.sleep(0.01)
    ours = heard.ours()
    assert ours == [{"level": "WARNING", "message": "odd object", "bucket": "b", "key": "k"}]
    assert any(line.startswith("REPORT RequestId:") for _, line in heard.lines)
