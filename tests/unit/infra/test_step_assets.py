"""The team's processing steps in the processor's asset: their packages copied to its root,
their pinned requirements installed, and every registered step imported from it at synth.

The step package lives outside s3flow (a temporary folder, as a team's repository would), and
its requirement is a wheel built here, so pip installs it with ``--require-hashes`` and no
network. One synthesis of the whole app serves the asset tests; the hash test binds the
asset alone in a bare stack, without bytecode, as that is all it needs.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from aws_cdk import App, CfnElement, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from s3flow import contract
from s3flow.infra import bundling
from s3flow.infra.app import create_app
from s3flow.infra.errors import SettingError
from s3flow.infra.stack import TapStack

STEPS = "first=my_company.steps:first_line,extra_step:greet"


def _write_step_sources(root: Path) -> None:
    package = root / "my_company"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "steps.py").write_text(
        "import boto3  # the runtime provides it\n"
        "import tinydep  # the steps' own requirement\n\n"
        "NOT_A_STEP = 'text'\n\n"
        "def first_line(s3_object, body):\n"
        "    return {'firstLine': body.split(b'\\n', 1)[0].decode(), 'greeting': tinydep.GREETING}\n"
    )
    (root / "extra_step.py").write_text("def greet(s3_object, body):\n    return {'hello': True}\n")


def _write_wheel_requirements(root: Path) -> Path:
    """A one-module wheel and a requirements file pinning it by sha256, as `make lock` writes."""
    wheel = root / "wheels" / "tinydep-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    info = "tinydep-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tinydep/__init__.py", "GREETING = 'hi'\n")
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n")
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(
            f"{info}/RECORD", f"tinydep/__init__.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n"
        )
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    requirements = root / "requirements-steps.txt"
    requirements.write_text(f"tinydep @ {wheel.as_uri()} --hash=sha256:{digest}\n")
    return requirements


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("team")
    _write_step_sources(root)
    _write_wheel_requirements(root)
    return root


@pytest.fixture(scope="module")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The steps' requirements install into a temporary cache, the processor's into the shared one."""
    real = bundling.install_dependencies
    cache = tmp_path_factory.mktemp("steps-cache")

    def install(architecture: lambda_.Architecture, requirements: Path | None = None) -> Path:
        if requirements is None:
            return real(architecture)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(bundling, "CACHE_DIR", cache)
            return real(architecture, requirements)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bundling, "install_dependencies", install)
        yield


def _logical_id(stack: Stack, function: lambda_.Function) -> str:
    return str(stack.resolve(stack.get_logical_id(cast(CfnElement, function.node.default_child))))


def _asset_dir(assembly: Path, stack: Stack, function: lambda_.Function) -> Path:
    resources = Template.from_stack(stack).to_json()["Resources"]
    key = resources[_logical_id(stack, function)]["Properties"]["Code"]["S3Key"]
    return assembly / f"asset.{key.removesuffix('.zip')}"


@pytest.fixture(scope="module")
def with_team_steps(
    team: Path, private_cache: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[TapStack, Path, Path]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = create_app(
        outdir=str(outdir),
        context={
            "environmentSuffix": "team",
            "processingSteps": STEPS,
            "stepPackages": f"{team / 'my_company'},{team / 'extra_step.py'}",
            "stepRequirements": str(team / "requirements-steps.txt"),
        },
    )
    app.synth()
    processor = _asset_dir(outdir, stack, stack.processing.function)
    publisher = _asset_dir(outdir, stack, stack.publishing.function)
    return stack, processor, publisher


def test_the_team_packages_and_requirements_are_in_the_processor_asset(
    with_team_steps: tuple[TapStack, Path, Path],
) -> None:
    stack, processor, publisher = with_team_steps

    assert (processor / "my_company" / "steps.py").is_file()
    assert (processor / "extra_step.py").is_file()
    assert (processor / "tinydep" / "__init__.py").is_file()
    assert (processor / "s3flow" / "functions" / "processor" / "handler.py").is_file()
    assert (processor / "opentelemetry").is_dir()  # the processor's own dependencies stay
    assert not (publisher / "my_company").exists()  # the publisher runs no steps
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "s3-object-processor-team",
            "Environment": {"Variables": Match.object_like({contract.ENV_PROCESSING_STEPS: STEPS})},
        },
    )


def test_the_assembly_records_where_the_steps_came_from_for_local_up_watch(
    team: Path, with_team_steps: tuple[TapStack, Path, Path]
) -> None:
    from s3flow.cli.watch import assembly_step_sources

    stack, processor, _ = with_team_steps

    # The manifest beside the assets, not the template: settings from cdk.json, -c or app.py alike.
    packages, requirements = assembly_step_sources(processor.parent, stack.stack_name)

    assert packages == [team / "my_company", team / "extra_step.py"]
    assert requirements == [team / "requirements-steps.txt"]
    assert contract.STEP_SOURCES_METADATA not in json.dumps(Template.from_stack(stack).to_json())


def test_the_registered_steps_import_from_the_built_asset_in_an_isolated_interpreter(
    with_team_steps: tuple[TapStack, Path, Path],
) -> None:
    _, processor, publisher = with_team_steps

    assert bundling.step_problem(processor, STEPS.split(",")) is None
    assert bundling.step_problem(publisher, ["my_company.steps:first_line"]) == (
        "processing step my_company.steps:first_line cannot be imported from the built asset:"
        " ModuleNotFoundError: No module named 'my_company'"
    )


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            "my_company.steps:last_line",
            "processing step my_company.steps:last_line cannot be imported from the built asset:"
            " AttributeError: module 'my_company.steps' has no attribute 'last_line'",
        ),
        (
            "text=my_company.steps:NOT_A_STEP",
            "processing step text=my_company.steps:NOT_A_STEP is not callable in the built asset:"
            " it is a str",
        ),
        (
            "s3flow.infra.stack:TapStack",  # synth-time code is not in the asset
            "processing step s3flow.infra.stack:TapStack cannot be imported from the built asset:"
            " ModuleNotFoundError: No module named 's3flow.infra'",
        ),
    ],
)
def test_a_step_that_does_not_import_is_one_line_naming_it(
    with_team_steps: tuple[TapStack, Path, Path], entry: str, problem: str
) -> None:
    _, processor, _ = with_team_steps

    assert bundling.step_problem(processor, [entry]) == problem


def test_step_paths_are_from_the_app_folder_and_must_exist(team: Path) -> None:
    sources = bundling.step_sources(["my_company", "extra_step.py"], "requirements-steps.txt", [], base=team)

    assert sources.packages == (team / "my_company", team / "extra_step.py")
    assert sources.requirements == team / "requirements-steps.txt"
    with pytest.raises(SettingError) as raised:
        bundling.step_sources(["my_compnay"], None, [], base=team)
    assert (
        str(raised.value)
        == f"stepPackages (step_packages): 'my_compnay' is not a folder or a .py file (from {team})"
    )
    with pytest.raises(
        SettingError, match=r"^stepRequirements \(step_requirements\): 'nope.txt' is not a file"
    ):
        bundling.step_sources([], "nope.txt", [], base=team)


def test_a_step_package_may_not_replace_s3flow_or_a_dependency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "s3flow").mkdir()
    with pytest.raises(SettingError, match="would replace the s3flow package"):
        bundling.step_sources(["s3flow"], None, [], base=tmp_path)
    (tmp_path / "opentelemetry").mkdir()
    monkeypatch.setattr(bundling, "precompile", lambda output_dir: False)
    sources = bundling.step_sources(["opentelemetry"], None, [], base=tmp_path)
    with pytest.raises(SettingError, match="'opentelemetry' would replace the asset's own 'opentelemetry'"):
        bundling.build_asset(tmp_path / "asset", lambda_.Architecture.ARM_64, sources)


def _asset_hash(outdir: Path, sources: bundling.StepSources) -> str:
    """The asset's hash as CDK computes it over the staged folder, in a bare stack."""
    stack = Stack(App(outdir=str(outdir)), "Steps")
    function = lambda_.Function(
        stack, "F", runtime=lambda_.Runtime.PYTHON_3_13, handler=contract.HANDLER,
        code=bundling.steps_code(lambda_.Architecture.ARM_64, sources).code,
    )  # fmt: skip
    resource = Template.from_stack(stack).to_json()["Resources"][_logical_id(stack, function)]
    return str(resource["Properties"]["Code"]["S3Key"])


def test_the_asset_hash_changes_with_the_step_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundling, "precompile", lambda output_dir: False)  # bytecode is not the point
    _write_step_sources(tmp_path / "team")
    sources = bundling.step_sources(["my_company", "extra_step.py"], None, [], base=tmp_path / "team")
    outdir = tmp_path / "cdk.out"  # one folder: CDK's in-process asset cache must not hide the change

    before = _asset_hash(outdir, sources)
    assert _asset_hash(outdir, sources) == before
    steps = tmp_path / "team" / "my_company" / "steps.py"
    steps.write_text(steps.read_text() + "\n# changed\n")

    assert _asset_hash(outdir, sources) != before


def test_the_sources_digest_covers_every_file_the_asset_takes(tmp_path: Path) -> None:
    # The digest keys CDK's in-process asset cache: a data file of a package counts too.
    _write_step_sources(tmp_path)
    (tmp_path / "my_company" / "__pycache__").mkdir()
    sources = bundling.step_sources(["my_company"], None, ["my_company.steps:first_line"], base=tmp_path)
    before = sources.digest()

    (tmp_path / "my_company" / "__pycache__" / "steps.cpython-311.pyc").write_bytes(b"not copied")
    assert sources.digest() == before
    (tmp_path / "my_company" / "labels.json").write_text("{}")
    assert sources.digest() != before


def test_relative_paths_start_from_the_checkout_or_else_the_apps_folder(
    team: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bundling.app_folder() == bundling.PROJECT_ROOT  # this checkout: app.py and cdk.json
    monkeypatch.setattr(bundling, "PROJECT_ROOT", tmp_path)  # s3flow installed, not checked out
    monkeypatch.chdir(team)  # where the CDK CLI runs the app: cdk.json's folder

    assert bundling.step_sources(["my_company"], None, []).packages == (team / "my_company",)
