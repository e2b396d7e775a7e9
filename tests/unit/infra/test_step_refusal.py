"""A registered step that does not import from the built asset fails the synth in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from s3flow.infra.app import create_app
from s3flow.infra.errors import SettingError

REPO_ROOT = Path(__file__).resolve().parents[3]
LINE = (
    "processing step my_company.steps:first_line cannot be imported from the built asset:"
    " ModuleNotFoundError: No module named 'my_company'"
)


def test_a_step_outside_the_asset_fails_the_synth(tmp_path: Path) -> None:
    with pytest.raises(SettingError) as raised:
        create_app(
            outdir=str(tmp_path),
            context={"environmentSuffix": "missing", "processingSteps": "my_company.steps:first_line"},
        )

    assert str(raised.value) == LINE


def test_app_py_says_so_in_one_line_and_exits_1(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "app.py", "-c", "processingSteps=my_company.steps:first_line"],
        cwd=REPO_ROOT,
        env={**os.environ, "CDK_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"error: {LINE}"
