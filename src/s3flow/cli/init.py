"""``s3flow init DIR``: a team's own project on s3flow (``s3flow.scaffold`` writes it)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from s3flow.cli import render
from s3flow.cli.errors import CliError


def command(
    directory: Annotated[Path, typer.Argument(help="A new or empty folder; its name names the project.")],
    package: Annotated[
        str | None,
        typer.Option("--package", help="The steps package (default: the folder's name, '-' as '_')."),
    ] = None,
) -> None:
    """Write a project of your own: a CDK app on s3flow's stack, a steps package with an example
    step and its tests, a lock with hashes, and a Makefile (make test, make run)."""
    from s3flow.scaffold import ScaffoldError, create_project
    from s3flow.scaffold.create import checked

    out = render.console()
    try:
        checked(directory, package)  # refused in one line, before any progress is shown
        with render.step(out, "writing the project and a wheel of this s3flow…"):
            project = create_project(directory, package)
    except ScaffoldError as error:
        raise CliError(str(error)) from None
    out.print(f"wrote {project.root}: project {project.names.project}, steps package {project.names.package}")
    for path in project.files:
        out.print(f"  {path.as_posix()}")
    out.print(
        "next, on any machine with Python 3.11+ and Node 20+:\n"
        f"  cd {shlex.quote(str(directory))}\n"
        "  make test   # the example step alone, then through the whole pipeline locally\n"
        "  make run    # the pipeline locally on samples/, checked"
    )
