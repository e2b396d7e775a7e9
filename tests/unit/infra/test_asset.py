"""The built Lambda asset imports the handler with only what the Lambda runtime provides.

The reference's inline code imported ``aws_xray_sdk``, which the Python runtime does not
have: it failed on its first invocation. Here a fresh interpreter (``-I -S``: no site
packages, no PYTHON* variables) gets exactly two folders on ``sys.path``: the asset from
the cloud assembly, and a folder of the packages the runtime ships (boto3 and its
dependencies, linked from this venv).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from s3flow import contract
from s3flow.infra.bundling import lambda_python
from s3flow.lambda_runtime import link_runtime_packages

from .conftest import Synthesized

PROBE = """
import importlib, importlib.util, json, os, sys
asset, runtime = sys.argv[1], sys.argv[2]
sys.path[:0] = [asset, runtime]
module_name, _, function_name = sys.argv[3].rpartition(".")
module = importlib.import_module(module_name)
handler = getattr(module, function_name)
print(json.dumps({
    "callable": callable(handler),
    "module_file": module.__file__,
    "boto3_file": importlib.import_module("boto3").__file__,
    "importable": {name: importlib.util.find_spec(name) is not None for name in ("aws_xray_sdk", "aws_cdk")},
    "imported": sorted(n for n in sys.modules if n.split(".")[0] in ("aws_xray_sdk", "aws_cdk", "jsii")),
}))
"""


def _asset_dir(synthesized: Synthesized) -> Path:
    function_id = synthesized.logical_id(synthesized.stack.processing.function)
    function = synthesized.template.find_resources("AWS::Lambda::Function")[function_id]
    s3_key = function["Properties"]["Code"]["S3Key"]
    return synthesized.assembly_dir / f"asset.{s3_key.removesuffix('.zip')}"


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return link_runtime_packages(tmp_path_factory.mktemp("lambda-runtime"))


def test_function_code_is_the_bundled_asset(synthesized: Synthesized, template: Template) -> None:
    asset = _asset_dir(synthesized)
    assert (asset / "s3flow" / "functions" / "processor" / "handler.py").is_file()
    assert (asset / "s3flow" / "functions" / "publisher" / "handler.py").is_file()
    assert (asset / "opentelemetry").is_dir()  # third-party dependencies are bundled
    for synth_or_local in ("infra", "local", "cli", "testing"):  # code that never runs in Lambda
        assert not (asset / "s3flow" / synth_or_local).exists()
    assert not (asset / "boto3").exists()  # the runtime provides it
    template.has_resource_properties(
        "AWS::Lambda::Function", {"FunctionName": "s3-object-processor-dev", "Handler": contract.HANDLER}
    )


LAMBDA_PYTHON = lambda_python()
INTERPRETERS = [
    pytest.param(sys.executable, id="local-python"),
    pytest.param(
        LAMBDA_PYTHON,
        id="lambda-python-3.13",
        marks=pytest.mark.skipif(LAMBDA_PYTHON is None, reason="no CPython 3.13 on this machine"),
    ),
]


@pytest.mark.parametrize("handler", [contract.HANDLER, contract.PUBLISHER_HANDLER])
@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_handler_imports_from_the_built_asset_in_a_fresh_interpreter(
    synthesized: Synthesized, runtime_dir: Path, interpreter: str, handler: str
) -> None:
    asset = _asset_dir(synthesized)
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "s3-object-processor-dev",
        contract.ENV_TABLE_NAME: "lambda-invocation-logs-dev",
        contract.ENV_EVENT_BUS_NAME: "processing-events-dev",
        contract.ENV_ENVIRONMENT: "dev",
        contract.ENV_TIME_INDEX_SHARDS: str(contract.DEFAULT_TIME_INDEX_SHARDS),
    }
    result = subprocess.run(
        [interpreter, "-I", "-S", "-c", PROBE, str(asset), str(runtime_dir), handler],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["callable"] is True
    assert Path(probe["module_file"]).is_relative_to(asset)
    assert Path(probe["boto3_file"]).is_relative_to(runtime_dir)
    assert probe["importable"] == {"aws_xray_sdk": False, "aws_cdk": False}
    assert probe["imported"] == []


@pytest.mark.skipif(LAMBDA_PYTHON is None, reason="no CPython 3.13 on this machine to precompile with")
def test_every_module_ships_with_lambda_python_bytecode(synthesized: Synthesized) -> None:
    # /var/task is read-only: a module without bytecode is compiled again on every cold start.
    asset = _asset_dir(synthesized)
    sources = list(asset.rglob("*.py"))
    missing = [
        source
        for source in sources
        if not (source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc").is_file()
    ]
    assert sources and missing == []


@pytest.mark.parametrize(
    ("architecture", "platform"),
    [("ARM_64", "manylinux2014_aarch64"), ("X86_64", "manylinux2014_x86_64")],
)
def test_dependencies_are_installed_for_the_functions_architecture(architecture: str, platform: str) -> None:
    # jsii hands out a new proxy for each Architecture read, so == between two reads is False.
    from aws_cdk import aws_lambda as lambda_

    from s3flow.infra.bundling import _pip_platform

    assert _pip_platform(getattr(lambda_.Architecture, architecture)) == platform
