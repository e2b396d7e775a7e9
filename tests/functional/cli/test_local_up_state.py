"""``s3flow local up --state DIR`` as a user runs it: it says what it restored, where it keeps
the state and what it saved at Ctrl-C; a folder it cannot read stops it in one line. (What a
restart keeps is tested on the pipeline: tests/functional/local/test_state.py.)"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .conftest import free_port
from .local_up_support import S3FLOW, local_up


@pytest.mark.e2e
def test_local_up_says_what_it_restored_and_what_it_saved(synthesized: Path, tmp_path: Path):
    # GIVEN a state folder saved by an earlier run (no objects: this run only reads it back)
    saved_at = datetime(2026, 12, 4, 22, 17, 23, tzinfo=UTC).timestamp()
    document = {"stack": "TapStackdev", "region": "us-east-1", "account": "123456789012", "services": {}}
    (tmp_path / "state.json").write_text(
        json.dumps({"format": "s3flow-local-state", "version": 1, "saved_at": saved_at, **document})
    )

    # WHEN local up runs on it and is stopped
    with local_up(synthesized, "--state", str(tmp_path)) as run:
        pass

    # THEN it says what it restored, where it keeps the state, and what it saved
    text = run.output.text
    assert run.exit_code == 0, text
    when = datetime.fromtimestamp(saved_at).astimezone()
    restored = f"state: restored from {tmp_path} (saved {when:%Y-%m-%d %H:%M:%S}): 0 object versions, 0 items"
    assert restored in text, text
    assert f"state is kept in {tmp_path}: saved every 10 s and at stop" in text
    assert f"stopped; the state is saved in {tmp_path}: " in text
    assert "Traceback" not in text
    assert json.loads((tmp_path / "state.json").read_text())["saved_at"] > saved_at


def test_a_damaged_state_stops_local_up_in_one_line(synthesized: Path, tmp_path: Path):
    (tmp_path / "state.json").write_text("{damaged")

    result = subprocess.run(
        [
            *S3FLOW,
            "local",
            "up",
            "--port",
            str(free_port()),
            "--cdk-out",
            str(synthesized),
            "--state",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'state.json'} is not valid JSON"
        " (Expecting property name enclosed in double quotes: line 1 column 2 (char 1)): the state is damaged"
    ]
    assert (tmp_path / "state.json").read_text() == "{damaged"
