"""``s3flow init`` as a team uses it: a project written into an empty folder passes its own
``make test`` and ``make run`` from nothing (a new venv from its lock, s3flow from the wheel
init wrote: no network for s3flow), and its synthesized template runs the team's step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PROJECT = "acme-ingest"
PACKAGE = "acme_ingest"
# What the project's commands must not inherit from this repository's test run: its Python
# path, its venv, its settings switches, a CDK CLI's context, the outer make's flags.
_INHERITED = (
    "PYTHONPATH", "VIRTUAL_ENV", "S3FLOW_IGNORE_PROJECT_CONTEXT", "CDK_CONTEXT_JSON", "CDK_OUTDIR",
    "MAKEFLAGS", "MFLAGS", "MAKELEVEL",
)  # fmt: skip


def _run(command: list[str], cwd: Path, timeout: float = 420) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in _INHERITED}
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("team")
    _run([str(Path(sys.executable).with_name("s3flow")), "init", PROJECT], cwd=parent)
    return parent / PROJECT


def test_init_writes_the_project_with_s3flow_pinned_by_its_hash(project: Path):
    requirements = (project / "requirements.txt").read_text()

    assert (project / PACKAGE / "line_stats.py").is_file() and (project / "tests").is_dir()
    (wheel,) = (project / "vendor").glob("s3flow-*.whl")
    assert f"./vendor/{wheel.name} \\\n    --hash=sha256:" in requirements


@pytest.fixture(scope="module")
def tested(project: Path) -> subprocess.CompletedProcess[str]:
    """The project's ``make test``: a venv from its lock, the synth, its tests."""
    return _run(["make", "test"], cwd=project)


def test_its_make_test_passes_from_a_fresh_venv(tested: subprocess.CompletedProcess[str]):
    assert "5 passed" in tested.stdout


def test_its_template_holds_the_steps_in_the_processors_asset_and_keeps_the_data(
    project: Path, tested: subprocess.CompletedProcess[str]
):
    assembly = project / "cdk.out"
    template = json.loads((assembly / "TapStackdev.template.json").read_text())
    resources = template["Resources"].values()
    (processor,) = [
        r for r in resources
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("FunctionName") == "s3-object-processor-dev"
    ]  # fmt: skip
    properties = processor["Properties"]
    asset = assembly / f"asset.{properties['Code']['S3Key'].removesuffix('.zip')}"

    assert (
        properties["Environment"]["Variables"]["S3FLOW_PROCESSING_STEPS"]
        == f"{PACKAGE}.line_stats:line_stats"
    )
    assert (asset / PACKAGE / "line_stats.py").read_text() == (
        project / PACKAGE / "line_stats.py"
    ).read_text()
    assert (asset / "s3flow" / "functions" / "processor" / "handler.py").is_file()
    (table,) = [r for r in resources if r["Type"] == "AWS::DynamoDB::Table"]
    assert table["DeletionPolicy"] == "Retain"


def test_its_make_run_checks_the_samples_and_shows_the_steps_fields(project: Path):
    result = _run(["make", "run"], cwd=project)

    assert "demo passed" in result.stdout
    assert '{"line_stats":{"lines":4,"words":20}}' in result.stdout  # samples/incoming/notes.txt
    assert "every record carries the fields of line_stats" in result.stdout
