"""Build the Lambda asset with pip on this machine: no Docker.

The processor's dependencies are pure Python, so ``pip install --target`` with the
Lambda platform and Python version gives the same files a build container would.
Installed dependencies are cached by the hash of ``requirements-lambda.txt``; the
processor source is copied fresh on every synth. pip installs them with ``--require-hashes``:
a file whose sha256 the lock does not list is refused (``make lock`` writes the lock).

Lambda's ``/var/task`` is read-only, so modules shipped without bytecode are compiled on
every cold start (~50 ms for this asset, measured in docs/performance.md). When a CPython
3.13 is on this machine the asset is precompiled with it, in ``unchecked-hash`` mode so the
bytecode is used whatever the files' times after unzipping; without one the asset is still
correct, only slower to start, and synth says so.
"""

from __future__ import annotations

import glob
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
RUNTIME_SOURCES = ("__init__.py", "contract.py", "functions")


def _pip_platform(architecture: lambda_.Architecture) -> str:
    # By name: jsii returns a new proxy on each read of Architecture.ARM_64, so == never holds.
    arm = architecture.name == lambda_.Architecture.ARM_64.name
    return "manylinux2014_aarch64" if arm else "manylinux2014_x86_64"


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
        "--require-hashes", "--only-binary=:all:", "--implementation", "cp",
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


def lambda_python() -> str | None:
    """A CPython interpreter of Lambda's version, to precompile the asset with, or None."""
    candidates = [
        os.environ.get("S3FLOW_LAMBDA_PYTHON"),
        shutil.which(f"python{LAMBDA_PYTHON_VERSION}"),
        *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{LAMBDA_PYTHON_VERSION}*/bin/python3"))),
    ]
    expected = f"cpython-{LAMBDA_PYTHON_VERSION.replace('.', '')}"
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.implementation.cache_tag)"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == expected:
            return candidate
    return None


def precompile(output_dir: Path) -> bool:
    """Write Lambda-version bytecode next to every module; False if no interpreter."""
    interpreter = lambda_python()
    if interpreter is None:
        print(
            f"s3flow: no Python {LAMBDA_PYTHON_VERSION} found (set S3FLOW_LAMBDA_PYTHON): "
            "the asset ships without bytecode and compiles on each cold start",
            file=sys.stderr,
        )
        return False
    command = [
        interpreter, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
        "-s", str(output_dir), "-p", "/var/task", str(output_dir),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    return True


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
    precompile(output_dir)


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
