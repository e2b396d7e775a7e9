"""Both Python locks carry a hash for every file they let in, and are installed only so.

``requirements.txt`` is the development set (``make setup``); ``requirements-lambda.txt``
(package data of ``s3flow.infra``) is what the bundler installs into the Lambda asset;
``requirements-project.txt`` (package data of ``s3flow.scaffold``) is what ``s3flow init``
pins in a team's project. With ``--require-hashes`` pip refuses any
file whose sha256 the lock does not list, so a replaced upload of a pinned version cannot get
into the venv or the asset. ``make lock`` regenerates all three, keeping the current pins.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from aws_cdk import aws_lambda as lambda_

from s3flow.infra import bundling

ROOT = Path(__file__).resolve().parents[3]
DEV_LOCK = ROOT / "requirements.txt"
ASSET_LOCK = ROOT / "src" / "s3flow" / "infra" / "requirements-lambda.txt"
PROJECT_LOCK = ROOT / "src" / "s3flow" / "scaffold" / "requirements-project.txt"  # s3flow init's
LOCKS = [pytest.param(lock, id=lock.name) for lock in (DEV_LOCK, ASSET_LOCK, PROJECT_LOCK)]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}\b")


@dataclass(frozen=True)
class Requirement:
    line: str
    name: str | None
    version: str | None
    hashes: int


def normalized(name: str) -> str:
    """A project name as PyPI compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(lock: Path) -> list[Requirement]:
    """Each requirement of a requirements file, its continuation lines joined."""
    joined = re.sub(r"\\\n", " ", lock.read_text())
    found = []
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        pin = PIN.match(line)
        found.append(
            Requirement(
                line,
                normalized(pin.group("name")) if pin else None,
                pin.group("version") if pin else None,
                len(HASH.findall(line)),
            )
        )
    return found


def pins(lock: Path) -> dict[str, str]:
    return {r.name: r.version for r in requirements(lock) if r.name and r.version}


def pyproject_pins() -> dict[str, str]:
    """Every ``name==version`` the pyproject names: runtime, extras and the build backend."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    specs = [
        *project["project"]["dependencies"],
        *(spec for extra in project["project"]["optional-dependencies"].values() for spec in extra),
        *project["build-system"]["requires"],
    ]
    found = {}
    for spec in specs:
        if spec.startswith("s3flow["):  # an extra naming other extras of this package
            continue
        pin = PIN.match(spec)
        assert pin, f"pyproject.toml: {spec!r} is not pinned with =="
        found[normalized(pin.group("name"))] = pin.group("version")
    return found


@pytest.mark.parametrize("lock", LOCKS)
def test_every_requirement_is_pinned_exactly_and_carries_a_sha256(lock: Path):
    found = requirements(lock)

    assert found, f"{lock.name} lists nothing"
    assert [r.line for r in found if r.name is None or r.version is None] == [], "not pinned with =="
    assert [r.name for r in found if r.hashes == 0] == [], "pinned without --hash=sha256:"


def test_the_dev_lock_holds_every_pin_of_the_pyproject_at_the_same_version():
    locked = pins(DEV_LOCK)
    pinned = pyproject_pins()

    # name: (pyproject's version, lock's version) for each that differs or is missing
    assert {name: (v, locked.get(name)) for name, v in pinned.items() if locked.get(name) != v} == {}
    # make setup installs s3flow with --no-build-isolation: its build backend comes from the lock
    assert "setuptools" in locked


def test_the_package_alone_installs_exactly_what_the_functions_asset_needs():
    """`pip install s3flow` is the functions' runtime set; the CDK app, the emulator and the
    CLI are extras (s3flow[cdk], s3flow[local]), and the dev extra takes both."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    asset_inputs = [
        line.strip() for line in (ROOT / "requirements-lambda.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    assert sorted(project["dependencies"]) == sorted(asset_inputs)
    extras = project["optional-dependencies"]
    assert {"cdk", "local", "dev"} <= extras.keys()
    assert any(name.startswith("aws-cdk-lib==") for name in extras["cdk"])
    assert any(name.startswith("moto[server]==") for name in extras["local"])
    assert "s3flow[cdk,local]" in extras["dev"]


def test_the_asset_lock_runs_the_versions_the_tests_run():
    """The functions run locally on the dev lock: the asset must carry the same versions."""
    asset, dev = pins(ASSET_LOCK), pins(DEV_LOCK)

    assert {"opentelemetry-api", "opentelemetry-sdk"} <= asset.keys()
    assert {name: version for name, version in asset.items() if dev.get(name) != version} == {}


def _makefile_commands(target: str) -> list[str]:
    """The commands ``make`` would run for ``target``, all of them (-B), none run (-n)."""
    result = subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return re.sub(r"\\\n\s*", " ", result.stdout).splitlines()


def test_make_setup_installs_the_dev_lock_only_with_hashes():
    installs = [c for c in _makefile_commands("setup") if "pip install" in c and "requirements.txt" in c]

    assert installs, "make setup no longer installs requirements.txt"
    assert all("--require-hashes" in command for command in installs), installs


def test_make_setup_reinstalls_when_the_lock_the_pyproject_or_the_makefile_changes():
    stamp = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("STAMP"))

    assert all(name in stamp for name in ("requirements.txt", "pyproject.toml", "Makefile")), stamp


def test_make_lock_regenerates_every_lock_with_hashes():
    compiles = [c for c in _makefile_commands("lock") if " pip compile " in c]

    written = {(ROOT / c.rsplit(" ", 1)[-1]).resolve() for c in compiles}
    assert written == {DEV_LOCK, ASSET_LOCK, PROJECT_LOCK}
    assert all("--generate-hashes" in c for c in compiles), compiles
    asset = next(c for c in compiles if c.endswith(ASSET_LOCK.name))
    # Resolved for where the asset runs, not for this machine.
    assert f"--python-version {bundling.LAMBDA_PYTHON_VERSION}" in asset
    assert "--python-platform aarch64-manylinux2014" in asset


def test_the_bundler_refuses_a_lock_without_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    unhashed = tmp_path / "requirements-lambda.txt"
    unhashed.write_text("typing-extensions==4.16.0\n")
    monkeypatch.setattr(bundling, "REQUIREMENTS", unhashed)
    monkeypatch.setattr(bundling, "CACHE_DIR", tmp_path / "cache")

    with pytest.raises(RuntimeError, match="--require-hashes"):
        bundling.install_dependencies(lambda_.Architecture.ARM_64)
