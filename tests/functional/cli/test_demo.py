"""The main job, end to end: ``s3flow demo`` must pass on a fresh emulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from s3flow.cli.main import app


@pytest.mark.e2e
def test_demo_passes_with_one_record_and_one_event_per_object(runner, synthesized: Path):
    result = runner.invoke(app, ["demo", "--cdk-out", str(synthesized), "--concurrency", "2"])

    assert result.exit_code == 0, result.output
    assert "5 records for 5 versions" in result.output
    assert "5 success events for 5 objects" in result.output
    assert "0 in the failure queues" in result.output
    assert "demo passed" in result.output
    assert "re-delivered the S3 record of 'my report+final v2.txt'" in result.output
    # the redelivery reached the function (6 invocations) but routed no second event
    assert re.search(r"received 6, recorded 6, routed 5", result.output), result.output
    for key in ("my report+final v2.txt", "données/résumé 東京.txt", "empty.txt", "a/b/c.txt", "large.bin"):
        assert key in result.output
