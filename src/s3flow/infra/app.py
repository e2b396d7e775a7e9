"""Build the CDK app the same way for `python app.py`, `npx cdk ...` and the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from s3flow.infra.stack import TapStack, resolve_environment_suffix

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CDK_JSON = PROJECT_ROOT / "cdk.json"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The feature flags and context of cdk.json.

    The CDK CLI passes them to the app itself; `python app.py` and the tests do not go
    through the CLI, so without this they would synthesize a different template.
    """
    return dict(json.loads(path.read_text()).get("context", {}))


def create_app(
    *, outdir: str | None = None, context: dict[str, Any] | None = None
) -> tuple[cdk.App, TapStack]:
    """The app with its one stack, ``TapStack{suffix}``; CLI context (-c) still wins."""
    app = cdk.App(outdir=outdir, context={**cdk_json_context(), **(context or {})})
    suffix = resolve_environment_suffix(app, None)
    stack = TapStack(app, f"TapStack{suffix}", environment_suffix=suffix)
    return app, stack
