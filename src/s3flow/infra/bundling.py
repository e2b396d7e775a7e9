"""Build the Lambda asset with pip on this machine: no Docker.

The processor's dependencies are pure Python, so ``pip install --target`` with the
Lambda platform and Python version gives the same files a build container would.
Installed dependencies are cached by the hash of ``requirements-lambda.txt`` (package data
next to this module, so a wheel install has it too) in the app's ``.build/``; the processor
source is copied fresh on every synth. pip installs them with ``--require-hashes``: a file
whose sha256 the lock does not list is refused (``make lock`` writes the lock).

Lambda's ``/var/task`` is read-only, so modules shipped without bytecode are compiled on
every cold start (~50 ms for this asset, measured in docs/performance.md). When a CPython
3.13 is on this machine the asset is precompiled with it, in ``unchecked-hash`` mode so the
bytecode is used whatever the files' times after unzipping; without one the asset is still
correct, only slower to start, and synth says so.

A team's processing steps (docs/extending.md "Registering steps") make the processor's asset:
the same layout plus the step packages at its root and the step requirements installed
beside the processor's. After building it, a fresh interpreter that sees only the asset and
what Lambda's runtime provides imports every registered step; one that does not import fails
the synth in one line rather than every invocation after the deploy.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from s3flow.infra.errors import SettingError
from s3flow.lambda_runtime import (
    ASSET_SOURCES,
    IMPORT_CHECK_ENVIRONMENT,
    import_check_arguments,
    link_runtime_packages,
)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/s3flow
# Package data, so an s3flow installed from a wheel bundles the same pins as a checkout.
REQUIREMENTS = Path(__file__).resolve().with_name("requirements-lambda.txt")


def app_folder() -> Path:
    """Where relative step paths start: this checkout's root (its app.py and cdk.json), or, for
    an installed s3flow, the folder the app runs in (the CDK CLI runs it in cdk.json's)."""
    return PROJECT_ROOT if (PROJECT_ROOT / "cdk.json").is_file() else Path.cwd()


# In the app's project, never in the installed package: site-packages may be read-only, and
# each project keeps its own cache next to its cdk.out.
CACHE_DIR = app_folder() / ".build" / "lambda-deps"
LAMBDA_PYTHON_VERSION = "3.13"
STEP_CHECK_TIMEOUT_SECONDS = 120


def _pip_platform(architecture: lambda_.Architecture) -> str:
    # By name: jsii returns a new proxy on each read of Architecture.ARM_64, so == never holds.
    arm = architecture.name == lambda_.Architecture.ARM_64.name
    return "manylinux2014_aarch64" if arm else "manylinux2014_x86_64"


def install_dependencies(architecture: lambda_.Architecture, requirements: Path | None = None) -> Path:
    """Install a pinned requirements file (requirements-lambda.txt by default) once per content
    hash; return the folder."""
    requirements = requirements or REQUIREMENTS
    digest = hashlib.sha256(requirements.read_bytes() + _pip_platform(architecture).encode()).hexdigest()[:16]
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
        "--target", str(staging), "-r", str(requirements),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"Lambda dependency install failed ({requirements.name}):\n{result.stderr}")
    try:
        os.replace(staging, target)  # atomic: parallel synths never see half a folder
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another synth won the race
    return target


@functools.cache
def lambda_python() -> str | None:
    """A CPython interpreter of Lambda's version, to precompile the asset with, or None; looked
    for once per process (each candidate is started to ask its version)."""
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


@dataclass(frozen=True)
class StepSources:
    """What the team's processing steps add to the processor's asset, with absolute paths:
    their packages or modules, their pinned requirements, and the entries to check."""

    packages: tuple[Path, ...] = ()
    requirements: Path | None = None
    steps: tuple[str, ...] = ()

    def digest(self) -> str:
        """A hash of everything these sources put in the asset: it changes with any file."""
        hasher = hashlib.sha256("\0".join(self.steps).encode())
        files = [self.requirements] if self.requirements else []
        for package in self.packages:
            if package.is_dir():  # every file the copy takes: bytecode is left behind
                files += sorted(
                    path for path in package.rglob("*")
                    if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
                )  # fmt: skip
            else:
                files.append(package)
        for path in files:
            hasher.update(f"\0{path}\0".encode() + path.read_bytes())
        return hasher.hexdigest()[:16]


_STEP_PACKAGES = "stepPackages (step_packages)"
_STEP_REQUIREMENTS = "stepRequirements (step_requirements)"


def step_sources(
    packages: Sequence[str], requirements: str | None, steps: Sequence[str], *, base: Path | None = None
) -> StepSources:
    """The settings' paths resolved from the app's folder (``base``, else ``app_folder()``) and
    checked; SettingError naming the setting for a path that is not there or would replace s3flow."""
    base = base or app_folder()
    resolved: list[Path] = []
    for given in packages:
        path = (base / given).resolve()
        if not (path.is_dir() or (path.is_file() and path.suffix == ".py")):
            raise SettingError(f"{_STEP_PACKAGES}: {given!r} is not a folder or a .py file (from {base})")
        if path.name.removesuffix(".py") == "s3flow":
            raise SettingError(f"{_STEP_PACKAGES}: {given!r} would replace the s3flow package in the asset")
        if path.name in (p.name for p in resolved):
            raise SettingError(
                f"{_STEP_PACKAGES}: two packages named {path.name!r}; the asset's root has one"
            )
        resolved.append(path)
    requirements_path = None
    if requirements is not None:
        requirements_path = (base / requirements).resolve()
        if not requirements_path.is_file():
            raise SettingError(f"{_STEP_REQUIREMENTS}: {requirements!r} is not a file (from {base})")
    return StepSources(tuple(resolved), requirements_path, tuple(steps))


def build_asset(
    output_dir: Path, architecture: lambda_.Architecture, steps: StepSources | None = None
) -> None:
    """Lay out the asset: dependencies at the root, then the s3flow runtime sources, then the
    steps' requirements and packages; a SettingError if a step package would replace a file."""
    shutil.copytree(install_dependencies(architecture), output_dir, dirs_exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    package_out = output_dir / "s3flow"
    package_out.mkdir(exist_ok=True)
    for name in ASSET_SOURCES:
        source = PACKAGE_DIR / name
        if source.is_dir():
            shutil.copytree(source, package_out / name, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(source, package_out / name)
    if steps is not None:
        if steps.requirements is not None:
            shutil.copytree(
                install_dependencies(architecture, steps.requirements), output_dir, dirs_exist_ok=True
            )
        for package in steps.packages:
            target = output_dir / package.name
            if target.exists():
                raise SettingError(
                    f"{_STEP_PACKAGES}: {package.name!r} would replace the asset's own {package.name!r}"
                    " (a dependency of the processor or of the steps)"
                )
            if package.is_dir():
                shutil.copytree(package, target, ignore=ignore)
            else:
                shutil.copy2(package, target)
    precompile(output_dir)


# Runs in `python -I -S -B`: no site packages, no PYTHON* variables (so the path is set here),
# no bytecode written into the asset (it would change the asset's hash).


def step_problem(asset_dir: Path, steps: Sequence[str]) -> str | None:
    """Import each step entry from the built asset in an isolated interpreter (Lambda's Python
    when this machine has it); the first that fails, as one line, or None."""
    if not steps:
        return None
    interpreter = lambda_python() or sys.executable
    with tempfile.TemporaryDirectory(prefix="s3flow-lambda-runtime-") as runtime:
        import_path = (asset_dir, link_runtime_packages(Path(runtime)))
        where = "the built asset"
        command = [
            interpreter, "-I", "-S", "-B",
            *import_check_arguments(import_path, steps, where=where, prefix="processing step "),
        ]  # fmt: skip
        result = subprocess.run(
            command, capture_output=True, text=True, check=False,
            timeout=STEP_CHECK_TIMEOUT_SECONDS, cwd=asset_dir, env=IMPORT_CHECK_ENVIRONMENT,
        )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    if lines:
        return lines[-1]
    if result.returncode != 0:  # the interpreter itself failed, or a step exited it
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"processing steps cannot be checked in the built asset: {last}"
    return None


@jsii.implements(ILocalBundling)
class _PipBundling:
    def __init__(self, architecture: lambda_.Architecture, steps: StepSources | None = None) -> None:
        self._architecture = architecture
        self._steps = steps
        # Why the asset cannot be built, and which registered step does not import from it,
        # for the stack to report: an exception raised here would reach the app wrapped in
        # CDK's bundling error, several lines long.
        self.error: str | None = None
        self.step_problem: str | None = None

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        try:
            build_asset(Path(output_dir), self._architecture, self._steps)
        except SettingError as error:
            self.error = str(error)
            return True
        if self._steps is not None:
            self.step_problem = step_problem(Path(output_dir), self._steps.steps)
        return True


def _code(bundling: _PipBundling, environment: dict[str, str] | None = None) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(PACKAGE_DIR),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Required by the API but never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=bundling,
            environment=environment,
        ),
    )


def processor_code(architecture: lambda_.Architecture) -> lambda_.Code:
    """The processor asset, bundled locally; Docker is never used."""
    return _code(_PipBundling(architecture))


@dataclass
class StepsCode:
    """The processor's asset with the team's steps; what went wrong is known once it is bundled."""

    code: lambda_.Code
    _bundling: _PipBundling = field(repr=False)

    @property
    def error(self) -> str | None:
        """Why the asset could not be built (a step package would replace a file of it)."""
        return self._bundling.error

    @property
    def step_problem(self) -> str | None:
        """The first registered step that does not import from the built asset, in one line."""
        return self._bundling.step_problem


def steps_code(architecture: lambda_.Architecture, steps: StepSources) -> StepsCode:
    """The asset with the steps' packages and requirements, checked when it is bundled (when a
    function binds it). The sources' digest is part of the bundling options, so CDK's in-process
    asset cache never hands back an asset built from other step files."""
    bundling = _PipBundling(architecture, steps)
    return StepsCode(_code(bundling, {"S3FLOW_STEP_SOURCES": steps.digest()}), bundling)
