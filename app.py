#!/usr/bin/env python3
"""CDK app: `python app.py [-c key=value ...]` synthesizes TapStack{suffix} into cdk.out/."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))
# CI and developer machines run Node 20; jsii's end-of-life banner is noise here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from s3flow.infra.settings import ignore_project_context_from_cli  # noqa: E402

# Before aws_cdk loads: its node process reads the CLI's context once, when it starts.
ignore_project_context_from_cli()

from s3flow.infra.app import USAGE, context_arguments, create_app  # noqa: E402
from s3flow.infra.errors import SettingError  # noqa: E402

if sys.argv[1:] in (["-h"], ["--help"]):
    sys.exit(print(USAGE))
# The CDK CLI passes CDK_OUTDIR; run directly, synthesize where the CLI would. Run directly,
# `-c key=value` sets context as the CLI's own -c does (`npx cdk synth -c key=value`).
try:
    app, _stack = create_app(
        outdir=None if "CDK_OUTDIR" in os.environ else str(ROOT / "cdk.out"),
        context=context_arguments(sys.argv[1:]),
    )
except SettingError as error:  # a bad -c value: one line naming it, not a traceback
    sys.exit(f"error: {error}")
app.synth()
