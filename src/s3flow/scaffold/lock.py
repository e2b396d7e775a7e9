"""The project's requirements: the shipped lock's pins, and the s3flow wheel pinned by its hash.

``requirements-project.txt`` (package data, written by ``make lock`` in s3flow's repository)
locks s3flow[cdk,local] and the project's test tools at the versions s3flow is tested with,
a sha256 for every file; s3flow itself is not on it (it is not on an index). The project's
requirements.txt is those pins plus the wheel in ``vendor/`` with its sha256, so
``pip install --require-hashes -r requirements.txt`` installs exactly this s3flow.
"""

from __future__ import annotations

import re
from pathlib import Path

from s3flow.scaffold.wheel import file_sha256

LOCK = Path(__file__).resolve().with_name("requirements-project.txt")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==")


def locked_requirements(lock: Path = LOCK) -> list[str]:
    """Each requirement of the lock, its continuation lines joined, its comments left out."""
    joined = re.sub(r"\\\n", " ", lock.read_text())
    requirements = []
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            requirements.append(re.sub(r"\s+", " ", line))
    return requirements


def locked_distributions(lock: Path = LOCK) -> list[str]:
    """The names the lock pins (as written there)."""
    return [match.group(1) for line in locked_requirements(lock) if (match := _PIN.match(line))]


def project_requirements(wheel: Path, project_dir: Path, lock: Path = LOCK) -> str:
    """requirements.txt for the project at ``project_dir``, whose ``wheel`` is inside it."""
    relative = wheel.relative_to(project_dir).as_posix()
    lines = [
        "# Every file pinned by its sha256: make setup installs this with --require-hashes.",
        "# s3flow's dependencies and the test tools, at the versions s3flow is tested with:",
    ]
    for requirement in locked_requirements(lock):
        name_and_version, *hashes = requirement.split(" ")
        lines.append(" \\\n    ".join([name_and_version, *hashes]))
    lines += [
        "# s3flow itself, from the wheel `s3flow init` wrote (replace both lines with",
        "# s3flow==<version> and its hashes once it is on your package index):",
        f"./{relative} \\\n    --hash=sha256:{file_sha256(wheel)}",
    ]
    return "\n".join(lines) + "\n"
