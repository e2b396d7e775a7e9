"""``s3flow local up --retry-delay SECONDS``: the delay before each async retry reaches the
running Lambda runtime (its banner reads the runtime's delays back); without it, the runtime
waits as Lambda does, about 1 then 2 minutes
(docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .local_up_support import local_up


def banner_of_local_up(synthesized: Path, *options: str) -> str:
    """What `local up` prints once it serves, then stopped with Ctrl-C."""
    with local_up(synthesized, *options) as run:
        pass
    return run.output.text


@pytest.mark.e2e
def test_retry_delay_reaches_the_runtime(synthesized: Path) -> None:
    text = banner_of_local_up(synthesized, "--retry-delay", "0.5")

    assert "async retries after 0.5 s (Lambda: about 60 s, then 120 s)" in text, text
    assert "Traceback" not in text
