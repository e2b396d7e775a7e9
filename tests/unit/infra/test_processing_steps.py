"""The stack's processing-steps setting: absent by default, else S3FLOW_PROCESSING_STEPS on the function.

The non-default case needs its own synthesis (the session template stays default); it goes
through ``create_app`` with the context value, as ``cdk deploy -c processingSteps=...`` does.
"""

from __future__ import annotations

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match, Template

from s3flow import contract
from s3flow.infra.app import create_app
from s3flow.infra.errors import SettingError
from s3flow.infra.processing import processing_steps_value
from s3flow.infra.stack import resolve_processing_steps

STEPS = "sniff=my_steps.content:sniff, my_steps.checksum:sha256"


def test_the_function_has_no_steps_by_default(template: Template) -> None:
    (function,) = [
        resource
        for resource in template.find_resources("AWS::Lambda::Function").values()
        if resource["Properties"].get("FunctionName") == "s3-object-processor-dev"
    ]
    assert contract.ENV_PROCESSING_STEPS not in function["Properties"]["Environment"]["Variables"]


@pytest.fixture(scope="module")
def with_steps(tmp_path_factory: pytest.TempPathFactory) -> Template:
    # Synth imports each step from the built asset: the package is the team's, outside s3flow.
    package = tmp_path_factory.mktemp("team") / "my_steps"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "content.py").write_text("def sniff(obj):\n    return {}\n")
    (package / "checksum.py").write_text("def sha256(obj):\n    return {}\n")
    app, stack = create_app(
        outdir=str(tmp_path_factory.mktemp("cdk.out")),
        context={"environmentSuffix": "steps", "processingSteps": STEPS, "stepPackages": str(package)},
    )
    app.synth()
    return Template.from_stack(stack)


def test_the_context_value_sets_the_steps_on_the_function(with_steps: Template) -> None:
    with_steps.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "s3-object-processor-steps",
            "Environment": {
                "Variables": Match.object_like(
                    {
                        contract.ENV_PROCESSING_STEPS: STEPS.replace(", ", ","),
                        contract.ENV_ENVIRONMENT: "steps",
                    }
                )
            },
        },
    )


def test_the_prop_wins_over_the_context() -> None:
    app = App(context={"processingSteps": "from.context:step"})

    assert resolve_processing_steps(app, ["from.prop:step"]) == ["from.prop:step"]
    assert resolve_processing_steps(app, None) == ["from.context:step"]
    assert resolve_processing_steps(App(), None) == []
    # an explicit empty list turns steps off even when the context names some
    assert resolve_processing_steps(app, []) == []


@pytest.mark.parametrize("entry", ["my_steps", "a.b:f,c.d:g", "=a:f", "1st=a:f", "a..b:f", "a:f g"])
def test_a_malformed_entry_fails_the_synth(entry: str) -> None:
    with pytest.raises(ValueError, match="is not 'module:function'"):
        processing_steps_value([entry])


def test_steps_over_lambdas_4_kb_environment_fail_the_synth() -> None:
    # Lambda refuses a function whose environment variables total over 4 KB; the steps'
    # variable alone is checked here, the whole environment at CreateFunction.
    entry = "my_steps.checks:step_{:04d}"
    fits = [entry.format(n) for n in range(100)]  # 2,622 bytes with the name
    too_many = [entry.format(n) for n in range(160)]

    assert processing_steps_value(fits)
    with pytest.raises(SettingError) as raised:
        processing_steps_value(too_many)
    assert str(raised.value) == (
        f"processing steps: {contract.ENV_PROCESSING_STEPS} would be 4182 bytes with its name,"
        " over the 4096 Lambda allows for a function's whole environment"
    )
