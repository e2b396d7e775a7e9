"""Build the CDK app the same way for `python app.py`, `npx cdk ...` and the tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from s3flow.infra.errors import SettingError
from s3flow.infra.settings import cdk_own_context, ignoring_project_context
from s3flow.infra.stack import TapStack, resolve_environment_suffix

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CDK_JSON = PROJECT_ROOT / "cdk.json"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The feature flags and context of cdk.json.

    The CDK CLI passes them to the app itself; `python app.py` and the tests do not go
    through the CLI, so without this they would synthesize a different template.
    """
    return dict(json.loads(path.read_text()).get("context", {}))


def project_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """cdk.json's context, or only its feature flags when S3FLOW_IGNORE_PROJECT_CONTEXT=1
    (settings.IGNORE_PROJECT_CONTEXT: the repository's tests ignore a developer's settings)."""
    context = cdk_json_context(path)
    return cdk_own_context(context) if ignoring_project_context() else context


USAGE = "usage: python app.py [-c key=value ...]  (the settings: docs/operations.md#settings)"


def context_arguments(arguments: Sequence[str]) -> dict[str, str]:
    """``-c key=value`` / ``--context key=value`` arguments as the CDK CLI reads its own.

    The value is everything after the first ``=``, always a string, and the last one given
    for a key wins. Keys starting with ``aws:`` are CDK's own, which the CLI refuses too. Anything
    else is a SettingError: ``python app.py`` takes nothing but context.
    """
    context: dict[str, str] = {}
    remaining = list(arguments)
    while remaining:
        argument = remaining.pop(0)
        if argument in ("-c", "--context"):
            if not remaining:
                raise SettingError(f"{argument} needs a key=value after it")
            assignment = remaining.pop(0)
        elif argument.startswith("--context="):
            assignment = argument.removeprefix("--context=")
        else:
            raise SettingError(f"unknown argument {argument!r}; {USAGE}")
        key, equals, value = assignment.partition("=")
        if not equals or not key:
            raise SettingError(f"context argument {assignment!r} is not key=value")
        if key.startswith("aws:"):
            raise SettingError(f"context keys starting with 'aws:' are CDK's own, got {key!r}")
        context[key] = value
    return context


def create_app(
    *, outdir: str | None = None, context: dict[str, Any] | None = None
) -> tuple[cdk.App, TapStack]:
    """The app with its one stack, ``TapStack{suffix}``.

    ``context`` is what ``-c`` gives (``python app.py -c`` and the tests): it wins over the
    context the CDK CLI passes in CDK_CONTEXT_JSON, which wins over cdk.json's, the CLI's
    own order, so both ways of synthesizing read the same settings the same way. Under
    S3FLOW_IGNORE_PROJECT_CONTEXT=1 only ``context`` sets the pipeline (``project_context``).
    """
    app = cdk.App(outdir=outdir, context=project_context(), post_cli_context=context or None)
    suffix = resolve_environment_suffix(app, None)
    stack = TapStack(app, f"TapStack{suffix}", environment_suffix=suffix)
    return app, stack
