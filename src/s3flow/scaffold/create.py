"""A whole project into a new or empty folder: its files, s3flow's wheel, its requirements."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from s3flow.scaffold.errors import ScaffoldError
from s3flow.scaffold.files import write_files
from s3flow.scaffold.lock import locked_distributions, project_requirements
from s3flow.scaffold.names import ProjectNames, project_names
from s3flow.scaffold.wheel import write_wheel

VENDOR = "vendor"
REQUIREMENTS = "requirements.txt"


@dataclass(frozen=True)
class Project:
    root: Path
    names: ProjectNames
    wheel: Path  # relative to root
    files: tuple[Path, ...]  # every file written, relative to root


def checked(directory: Path, package: str | None = None) -> tuple[Path, ProjectNames]:
    """The project's absolute root and names, before anything is written; ScaffoldError for a
    folder that is not new or empty, or a name that cannot be used (``names``)."""
    root = directory.expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise ScaffoldError(f"{root} exists and is not a folder: choose a new folder")
    if root.is_dir() and any(root.iterdir()):
        raise ScaffoldError(f"{root} exists and is not empty: choose a new or empty folder")
    return root, project_names(root.name, package, locked_distributions())


def create_project(directory: Path, package: str | None = None) -> Project:
    """Write the project into ``directory`` (created if absent, else it must be empty).

    ScaffoldError, with nothing left behind, for what ``checked`` refuses, or if s3flow's
    wheel cannot be made (``wheel``).
    """
    root, names = checked(directory, package)
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        files = write_files(root, names)
        wheel = write_wheel(root / VENDOR)
        (root / REQUIREMENTS).write_text(project_requirements(wheel, root))
    except BaseException:
        # Leave the folder as it was: absent, or empty.
        if created:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for child in root.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    relative_wheel = wheel.relative_to(root)
    return Project(root, names, relative_wheel, (*files, relative_wheel, Path(REQUIREMENTS)))
