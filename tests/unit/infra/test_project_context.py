"""S3FLOW_IGNORE_PROJECT_CONTEXT=1: the pipeline's settings come from ``-c`` only.

The repository's tests synthesize with it, so steps or settings a developer put in cdk.json
(or cdk.context.json, ~/.cdk.json, which the CDK CLI passes in CDK_CONTEXT_JSON) never change
what they assert; CDK's own keys (feature flags, ``aws:...``) are kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s3flow.infra.app import project_context
from s3flow.infra.settings import IGNORE_PROJECT_CONTEXT, ignore_project_context_from_cli

REPO_ROOT = Path(__file__).resolve().parents[3]
CONTEXT = {
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "aws:cdk:enable-path-metadata": True,
    "processingSteps": "my_company.steps:first_line",
    "stepPackages": ["my_company"],
    "processorMemoryMb": 1024,
}
CDK_OWN = {"@aws-cdk/aws-iam:minimizePolicies": True, "aws:cdk:enable-path-metadata": True}


@pytest.fixture
def cdk_json(tmp_path: Path) -> Path:
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"app": "python app.py", "context": CONTEXT}))
    return path


def test_cdk_json_settings_apply_by_default(cdk_json: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(IGNORE_PROJECT_CONTEXT, raising=False)

    assert project_context(cdk_json) == CONTEXT


def test_ignored_the_cdk_json_keeps_only_cdks_own_keys(
    cdk_json: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(IGNORE_PROJECT_CONTEXT, "1")

    assert project_context(cdk_json) == CDK_OWN


def test_ignored_the_clis_context_keeps_only_cdks_own_keys() -> None:
    environ = {IGNORE_PROJECT_CONTEXT: "1", "CDK_CONTEXT_JSON": json.dumps(CONTEXT)}
    ignore_project_context_from_cli(environ)
    assert json.loads(environ["CDK_CONTEXT_JSON"]) == CDK_OWN

    untouched = {"CDK_CONTEXT_JSON": json.dumps(CONTEXT)}
    ignore_project_context_from_cli(untouched)
    assert json.loads(untouched["CDK_CONTEXT_JSON"]) == CONTEXT


@pytest.mark.parametrize(
    ("ignore", "named"),
    [
        ("0", "processorMemoryMb (processor_memory_mb)"),
        ("1", "processorTimeoutSeconds (processor_timeout_seconds)"),
    ],
)
def test_app_py_drops_the_clis_settings_but_not_c(ignore: str, named: str, tmp_path: Path) -> None:
    # Two bad values, each refused before anything is bundled: the CLI's memory, checked first,
    # and -c's timeout. Ignoring the project's context, only the -c one is left to refuse.
    result = subprocess.run(
        [sys.executable, "app.py", "-c", "processorTimeoutSeconds=0"],
        cwd=REPO_ROOT,
        env={
            **{key: value for key, value in os.environ.items() if key != IGNORE_PROJECT_CONTEXT},
            IGNORE_PROJECT_CONTEXT: ignore,
            "CDK_CONTEXT_JSON": json.dumps({**CDK_OWN, "processorMemoryMb": 5}),
            "CDK_OUTDIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {named} must be")
