"""``s3flow local up --retry-delay SECONDS``: the delay before each async retry reaches the
running Lambda runtime (its banner reads the runtime's delays back); without it, the runtime
waits as Lambda does, about 1 then 2 minutes
(docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from .conftest import free_port
from .test_local_up import S3FLOW, Lines


def banner_of_local_up(synthesized: Path, *options: str) -> str:
    """What `local up` prints once it serves, then stopped with Ctrl-C."""
    port = free_port()
    process = subprocess.Popen(
        [*S3FLOW, "local", "up", "--port", str(port), "--cdk-out", str(synthesized), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    output = Lines(process)
    try:
        assert output.wait_for("stop with Ctrl-C", 120), output.text
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    output._thread.join(10)
    return output.text


@pytest.mark.e2e
def test_retry_delay_reaches_the_runtime(synthesized: Path) -> None:
    text = banner_of_local_up(synthesized, "--retry-delay", "0.5")

    assert "async retries after 0.5 s (Lambda: about 60 s, then 120 s)" in text, text
    assert "Traceback" not in text
