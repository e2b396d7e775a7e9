"""One synthesis for the whole infra tier: the app as `python app.py` builds it, plus cdk-nag.

Synthesis (with asset bundling) takes seconds, so every infra test shares this one.
cdk-nag's AwsSolutions and Serverless packs run as CDK policy-validation plugins during
that synthesis; an unacknowledged finding makes ``app.synth()`` raise, which only
``test_security.py`` asserts on. The other tests still get the template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Validations
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from s3flow.infra.app import create_app
from s3flow.infra.stack import TapStack

from ..network import network_blocked


@dataclass(frozen=True)
class Synthesized:
    stack: TapStack
    template: Template
    assembly_dir: Path
    nag_error: str | None
    validation_report: dict[str, Any]

    @property
    def template_file(self) -> Path:
        return self.assembly_dir / self.stack.template_file

    def logical_id(self, construct: Any) -> str:
        """The logical id of an L2 construct's resource, as the stack computes it."""
        return str(self.stack.resolve(self.stack.get_logical_id(construct.node.default_child)))


def add_security_checks(app: App) -> None:
    """cdk-nag's AwsSolutions and Serverless packs, as CDK policy-validation plugins."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> Synthesized:
    """The app with this ``-c`` context, synthesized with cdk-nag into ``outdir``."""
    nag_error: str | None = None
    with network_blocked():  # a session fixture runs before the tier's per-test guard
        app, stack = create_app(outdir=str(outdir), context=context)
        add_security_checks(app)
        try:
            app.synth()
        except RuntimeError as error:  # jsii surfaces the ValidationFailed error this way
            nag_error = str(error)
    report_file = outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    if nag_error is None:
        template = Template.from_stack(stack)  # reuses the cached assembly
    else:
        # The template is written before validation runs; read it so other tests still work.
        template = Template.from_json(json.loads((outdir / stack.template_file).read_text()))
    return Synthesized(stack, template, outdir, nag_error, report)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    return synthesized.template
