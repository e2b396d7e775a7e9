"""The lock ``s3flow init`` writes into a project agrees with the one s3flow is tested with."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from s3flow.scaffold.lock import LOCK, locked_distributions, locked_requirements, project_requirements
from s3flow.scaffold.wheel import file_sha256

ROOT = Path(__file__).resolve().parents[3]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines: list[str]) -> dict[str, str]:
    return {_normalized(m.group(1)): m.group(2) for line in lines if (m := PIN.match(line))}


def test_every_pin_of_the_project_lock_is_the_dev_locks_pin():
    project, dev = _pins(locked_requirements(LOCK)), _pins(locked_requirements(ROOT / "requirements.txt"))

    assert project
    differing = {name: (v, dev.get(name)) for name, v in project.items() if dev.get(name) != v}
    assert differing == {}


def test_the_project_lock_holds_s3flows_cdk_and_local_extras_and_the_test_tools():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["cdk"]]
    wanted += project["optional-dependencies"]["local"]
    expected = _pins([spec.split("#")[0].strip() for spec in wanted])
    locked = _pins(locked_requirements(LOCK))

    assert {name: version for name, version in expected.items() if locked.get(name) != version} == {}
    assert {"pytest", "pytest-timeout"} <= locked.keys()
    assert "s3flow" not in locked  # the wheel init writes pins it


def test_every_requirement_of_the_project_lock_carries_a_sha256():
    requirements = locked_requirements(LOCK)

    assert [line for line in requirements if not PIN.match(line) or "--hash=sha256:" not in line] == []
    assert len(locked_distributions(LOCK)) == len(requirements)


def test_the_projects_requirements_are_the_lock_and_the_wheel_by_its_hash(tmp_path: Path):
    wheel = tmp_path / "vendor" / "s3flow-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"not really a wheel")

    text = project_requirements(wheel, tmp_path)

    joined = [line.split(" #")[0].strip() for line in re.sub(r"\\\n", " ", text).splitlines()]
    requirements = [re.sub(r"\s+", " ", line) for line in joined if line and not line.startswith("#")]
    assert requirements[:-1] == locked_requirements(LOCK)
    assert requirements[-1] == f"./vendor/{wheel.name} --hash=sha256:{file_sha256(wheel)}"
