"""``s3flow local up --retry-delay``: anything but a finite number of seconds >= 0 is one line."""

from __future__ import annotations

import pytest

from s3flow.cli.main import app
from support.cli import one_error_line


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf", ""])
def test_a_retry_delay_that_is_not_seconds_is_one_line(runner, value):
    result = runner.invoke(app, ["local", "up", "--retry-delay", value])

    assert result.exit_code != 0
    assert "Invalid value for '--retry-delay'" in one_error_line(result.output)


def test_without_retry_delay_the_runtime_waits_as_lambda_does():
    from s3flow.cli.local_up import retry_delays
    from s3flow.local.lambda_.runtime import LAMBDA_RETRY_DELAYS

    assert retry_delays(None) == LAMBDA_RETRY_DELAYS == (60.0, 120.0)
    assert retry_delays(0.5) == (0.5,)
    assert retry_delays(0) == (0.0,)
