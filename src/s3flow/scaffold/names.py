"""The names a project is made of: the project's (its folder's) and its steps package's.

The package is copied to the root of the processor's Lambda asset and imported by the step
entries (``package.module:function``), so it must be an importable name that shadows nothing:
not the standard library, not s3flow, not a distribution of the project's lock.
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from s3flow.scaffold.errors import ScaffoldError

# A distribution name as PEP 508 allows it, kept to what also makes a package name once its
# hyphens become underscores.
_PROJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9]|[A-Za-z]")
_PACKAGE_NAME = re.compile(r"[a-z][a-z0-9_]*")
# Names the project's own layout or the pipeline already use.
_RESERVED = {"s3flow", "tests", "vendor", "samples", "app"}


@dataclass(frozen=True)
class ProjectNames:
    project: str  # the folder's name: README title, the lock's comment
    package: str  # the steps package: a Python identifier

    @property
    def title(self) -> str:
        """``acme-ingest`` -> ``AcmeIngest``: for class names in the project's code."""
        return "".join(part.capitalize() for part in re.split(r"[-_]", self.project) if part)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def project_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a project, or None."""
    if not _PROJECT_NAME.fullmatch(name) or len(name) > 64:
        return (
            f"project name {name!r} must start with a letter, end with a letter or digit and hold"
            " only letters, digits, '-' and '_' (at most 64)"
        )
    return None


def package_name_problem(name: str, taken: Iterable[str] = ()) -> str | None:
    """Why ``name`` cannot name the steps package, or None; ``taken``: the lock's distributions."""
    if not _PACKAGE_NAME.fullmatch(name) or keyword.iskeyword(name):
        return f"package name {name!r} must be a lowercase Python identifier (letters, digits, '_')"
    if name in sys.stdlib_module_names:
        return f"package name {name!r} is a module of Python's standard library"
    if name in _RESERVED:
        return f"package name {name!r} is taken by s3flow or the project's own layout"
    if name in {_normalized(distribution) for distribution in taken}:
        return f"package name {name!r} is a dependency the project installs"
    return None


def project_names(folder_name: str, package: str | None = None, taken: Iterable[str] = ()) -> ProjectNames:
    """The names for a project in a folder called ``folder_name``; the package defaults to the
    project's name with ``-`` as ``_``, lowercased. ScaffoldError for a name that cannot be used."""
    problem = project_name_problem(folder_name)
    if problem:
        raise ScaffoldError(f"{problem}; choose another folder name")
    chosen = package if package is not None else _normalized(folder_name)
    problem = package_name_problem(chosen, taken)
    if problem:
        hint = "" if package is not None else " (from the folder's name)"
        raise ScaffoldError(f"{problem}{hint}; pass --package NAME")
    return ProjectNames(folder_name, chosen)
