"""The project's files, package data under ``project/``, with its names put in.

Each file there is stored with ``.tmpl`` appended, so no tool of s3flow's repository takes
them for its own code (pytest, ruff, setuptools); ``dot-`` at the start of a name stands for
the ``.`` of a hidden file. ``{{project}}`` and ``{{package}}`` in a path or a text are
replaced by the project's names.
"""

from __future__ import annotations

from pathlib import Path

from s3flow.scaffold.names import ProjectNames

TEMPLATES = Path(__file__).resolve().with_name("project")
TEMPLATE_SUFFIX = ".tmpl"
HIDDEN_PREFIX = "dot-"


def render(text: str, names: ProjectNames) -> str:
    return text.replace("{{project}}", names.project).replace("{{package}}", names.package)


def target_path(template: Path, names: ProjectNames) -> Path:
    """Where a template file goes, relative to the project's root."""
    relative = template.relative_to(TEMPLATES)
    parts = [render(part, names) for part in relative.parts]
    name = parts[-1].removesuffix(TEMPLATE_SUFFIX)
    if name.startswith(HIDDEN_PREFIX):
        name = "." + name.removeprefix(HIDDEN_PREFIX)
    return Path(*parts[:-1], name)


def templates() -> list[Path]:
    return sorted(
        path for path in TEMPLATES.rglob(f"*{TEMPLATE_SUFFIX}")
        if path.is_file() and "__pycache__" not in path.parts
    )  # fmt: skip


def write_files(root: Path, names: ProjectNames) -> list[Path]:
    """Write every project file under ``root``; the paths written, relative to it."""
    written = []
    for template in templates():
        relative = target_path(template, names)
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(template.read_text(encoding="utf-8"), names), encoding="utf-8")
        written.append(relative)
    return written
