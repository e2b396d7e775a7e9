"""Each line a function writes reaches the runtime's listeners as it is written (``local up``
turns warnings and errors into lines under their object)."""

from __future__ import annotations

import json

from s3flow.local.lambda_.runtime import Listener

from .runtime_support import make_runtime, spec


class Lines(Listener):
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def logged(self, function_name: str, line: str) -> None:
        self.lines.append((function_name, line))


def test_the_listeners_hear_each_line_a_function_writes(server, runtimes):
    heard = Lines()
    runtime = make_runtime(server, spec("warn"), listener=heard)
    runtimes.append(runtime)

    runtime.invoke("fn-warn", {})

    ours = [json.loads(line) for name, line in heard.lines if name == "fn-warn" and line.startswith("{")]
    assert ours == [{"level": "WARNING", "message": "odd object", "bucket": "b", "key": "k"}]
    assert any(line.startswith("REPORT RequestId:") for _, line in heard.lines)
