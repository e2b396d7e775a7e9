"""``s3flow init``: a team's own project on s3flow, written into an empty folder.

The project is its own CDK app (s3flow's stack with ``PipelineSettings``), a package of
processing steps with an example and its tests, a lock with a sha256 for every file, and a
Makefile whose ``make test`` and ``make run`` work on a fresh machine. It installs this s3flow:
a wheel of the installed distribution is written into the project's ``vendor/`` and pinned by
its hash (``wheel``); the other pins come from the lock shipped as package data (``lock``).

Modules: ``names`` (project and package names, and why one is refused), ``wheel`` (the wheel of
this s3flow), ``lock`` (the project's requirements), ``files`` (the project's files, package
data under ``project/``), ``create`` (all of it, into a folder).
"""

from __future__ import annotations

from s3flow.scaffold.create import Project, create_project
from s3flow.scaffold.errors import ScaffoldError
from s3flow.scaffold.names import ProjectNames, project_names

__all__ = ["Project", "ProjectNames", "ScaffoldError", "create_project", "project_names"]
