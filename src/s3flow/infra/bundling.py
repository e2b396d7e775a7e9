"""Build the Lambda asset with pip on this machine: no Docker.

The processor's dependencies are pure Python, so ``pip install --target`` with the
Lambda platform and Python version gives the same files a build container would.
Installed dependencies are cached by the hash of ``requirements-lambda.txt``; the
processor source is copied fresh on every synth.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/s3flow
REQUIREMENTS = PROJECT_ROOT / "requirements-lambda.txt"
CACHE_DIR = PROJECT_ROOT / ".build" / "lambda-deps"
LAMBDA_PYTHON_VERSION = "3.13"
# Files of the s3flow package that run in Lambda; nothing from infra, local or cli.
RUNTIME_SOURCES = ("__init__.py", "contract.py", "processor")


def _pip_platform(architecture: lambda_.Architecture) -> str:
    return "manylinux2014_aarch64" if architecture == lambda_.Architecture.ARM_64 else "manylinux2014_x86_64"


def install_dependencies(architecture: lambda_.Architecture) -> Path:
    """Install requirements-lambda.txt once per content hash; return the folder."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes() + _pip_platform(architecture).encode()).hexdigest()[:16]
    target = CACHE_DIR / digest
    if target.is_dir():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="deps-", dir=CACHE_DIR))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--no-deps",
        "--only-binary=:all:", "--implementation", "cp",
        "--python-version", LAMBDA_PYTHON_VERSION,
        "--platform", _pip_platform(architecture),
        "--target", str(staging), "-r", str(REQUIREMENTS),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"Lambda dependency install failed:\n{result.stderr}")
    try:
        os.replace(staging, target)  # atomic: parallel synths never see half a folder
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another synth won the race
    return target


def build_asset(output_dir: Path, architecture: lambda_.Architecture) -> None:
    """Lay out the asset: dependencies at the root, then the s3flow runtime sources."""
    shutil.copytree(install_dependencies(architecture), output_dir, dirs_exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    package_out = output_dir / "s3flow"
    package_out.mkdir(exist_ok=True)
    for name in RUNTIME_SOURCES:
        source = PACKAGE_DIR / name
        if source.is_dir():
            shutil.copytree(source, package_out / name, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(source, package_out / name)


@jsii.implements(ILocalBundling)
class _PipBundling:
    def __init__(self, architecture: lambda_.Architecture) -> None:
        self._architecture = architecture

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        build_asset(Path(output_dir), self._architecture)
        return True


def processor_code(architecture: lambda_.Architecture) -> lambda_.Code:
    """The processor asset, bundled locally; Docker is never used."""
    return lambda_.Code.from_asset(
        str(PACKAGE_DIR),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Required by the API but never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=_PipBundling(architecture),
        ),
    )
