"""The step sources' settings: stepPackages and stepRequirements, from ``-c`` or cdk.json."""

from __future__ import annotations

import pytest

from s3flow.infra.errors import SettingError
from s3flow.infra.settings import PipelineSettings


def test_context_strings_and_cdk_json_lists_become_the_same_settings() -> None:
    from_cli = PipelineSettings.from_context(
        {"stepPackages": "my_company, tools/extra.py", "stepRequirements": "requirements-steps.txt"}
    )
    from_cdk_json = PipelineSettings.from_context(
        {"stepPackages": ["my_company", "tools/extra.py"], "stepRequirements": "requirements-steps.txt"}
    )

    assert from_cli == from_cdk_json
    assert from_cli.step_packages == ("my_company", "tools/extra.py")
    assert from_cli.step_requirements == "requirements-steps.txt"


def test_no_step_sources_by_default() -> None:
    settings = PipelineSettings.from_context({})

    assert settings.step_packages == ()
    assert settings.step_requirements is None


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"stepPackages": 5}, "stepPackages (step_packages) must be a list of paths, got 5"),
        (
            {"stepPackages": ["ok", ""]},
            "stepPackages (step_packages) must be a list of paths, got ['ok', '']",
        ),
        (
            {"stepRequirements": ""},
            "stepRequirements (step_requirements) must be the path of a requirements file",
        ),
        ({"stepRequirements": ["a.txt"]}, "stepRequirements (step_requirements) must be the path"),
        ({"steppackages": "my_company"}, "unknown setting 'steppackages': did you mean 'stepPackages'?"),
    ],
)
def test_a_bad_step_source_setting_is_one_line_naming_it(context: dict[str, object], message: str) -> None:
    with pytest.raises(SettingError) as raised:
        PipelineSettings.from_context(context)

    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_a_construct_user_gives_them_as_props() -> None:
    settings = PipelineSettings(step_packages=("my_company",), step_requirements="steps.txt")

    assert settings.step_packages == ("my_company",)
    with pytest.raises(SettingError, match="step_packages"):
        PipelineSettings(step_packages="my_company")  # type: ignore[arg-type]
