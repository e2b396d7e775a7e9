"""environmentSuffix is checked at synth against every physical name built from it.

A bad suffix used to synthesize and fail on deploy (S3 bucket names: lowercase, 3-63
characters: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from s3flow.infra.app import create_app
from s3flow.infra.errors import SettingError
from s3flow.infra.naming import ACCOUNT_ID_PLACEHOLDER

REPO_ROOT = Path(__file__).resolve().parents[3]
PROD_CONTEXT = {"environmentSuffix": "Prod"}
LONGEST_SUFFIX = "a" * 23  # object-trigger-access-logs-<suffix>-<12-digit account> is 63 characters


@pytest.mark.parametrize(
    ("suffix", "rule"),
    [
        ("Prod", "lowercase letters, digits and hyphens"),
        ("a" * 24, "64 characters, over 63"),
        ("a" * 30, "over 63"),
        ("my_env", "lowercase letters, digits and hyphens"),
        ("prod.eu", "lowercase letters, digits and hyphens"),
        ("prod!", "lowercase letters, digits and hyphens"),
        ("", "non-empty"),
    ],
)
def test_a_suffix_that_would_break_a_physical_name_is_refused_naming_it_and_the_rule(
    suffix: str, rule: str
) -> None:
    with pytest.raises(SettingError, match=re.escape(rule)) as raised:
        create_app(context={"environmentSuffix": suffix})
    assert repr(suffix) in str(raised.value)


def test_app_py_prints_one_line_and_exits_1_without_a_traceback(tmp_path: Path) -> None:
    # The suffix comes as the CDK CLI hands context over: read it, as the CLI's (the tests
    # otherwise ignore project context).
    environment = {key: value for key, value in os.environ.items() if key != "S3FLOW_IGNORE_PROJECT_CONTEXT"}
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env={**environment, "CDK_OUTDIR": str(tmp_path), "CDK_CONTEXT_JSON": json.dumps(PROD_CONTEXT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("error: environmentSuffix 'Prod' is invalid: S3 bucket names")


def test_the_longest_accepted_suffix_makes_names_aws_accepts(tmp_path: Path) -> None:
    app, stack = create_app(outdir=str(tmp_path), context={"environmentSuffix": LONGEST_SUFFIX})
    app.synth()
    template = json.loads((tmp_path / stack.template_file).read_text())
    resources = template["Resources"].values()
    buckets = [r["Properties"]["BucketName"] for r in resources if r["Type"] == "AWS::S3::Bucket"]
    assert len(buckets) == 2
    for bucket in buckets:
        parts = bucket["Fn::Join"][1]
        name = "".join(part if isinstance(part, str) else ACCOUNT_ID_PLACEHOLDER for part in parts)
        assert len(name) <= 63 and re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", name), name
    functions = [r["Properties"] for r in resources if r["Type"] == "AWS::Lambda::Function"]
    named = [f["FunctionName"] for f in functions if isinstance(f.get("FunctionName"), str)]
    assert len(named) == 2 and all(len(name) <= 64 for name in named)
    rules = [r["Properties"]["Name"] for r in resources if r["Type"] == "AWS::Events::Rule"]
    assert rules and all(len(name) <= 64 for name in rules)
