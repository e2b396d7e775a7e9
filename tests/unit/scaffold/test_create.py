"""``create_project``: the whole project into a new or empty folder, or a refusal in one line
that leaves the folder as it was."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from s3flow.scaffold import ScaffoldError, create_project
from s3flow.scaffold import create as create_module
from s3flow.scaffold.wheel import file_sha256


def test_the_project_is_written_with_the_wheel_pinned_by_its_hash(tmp_path: Path):
    project = create_project(tmp_path / "acme-ingest")

    root = tmp_path / "acme-ingest"
    assert project.root == root and project.names.package == "acme_ingest"
    assert project.wheel == Path("vendor/s3flow-0.1.0-py3-none-any.whl")
    assert all((root / path).is_file() for path in project.files)
    requirements = re.sub(r"\s*\\\n\s*", " ", (root / "requirements.txt").read_text()).splitlines()
    assert requirements[-1] == f"./{project.wheel} --hash=sha256:{file_sha256(root / project.wheel)}"


def test_an_empty_folder_is_used(tmp_path: Path):
    project = create_project(tmp_path, package="acme_steps")

    assert (tmp_path / "acme_steps" / "line_stats.py").is_file() and project.root == tmp_path


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")

    with pytest.raises(ScaffoldError, match=r"exists and is not empty: choose a new or empty folder$"):
        create_project(tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_a_file_is_refused(tmp_path: Path):
    (tmp_path / "acme").write_text("")

    with pytest.raises(ScaffoldError, match="exists and is not a folder"):
        create_project(tmp_path / "acme")


def test_a_bad_name_is_refused_before_anything_is_written(tmp_path: Path):
    with pytest.raises(ScaffoldError, match="package name 'json' is a module of Python's standard library"):
        create_project(tmp_path / "json")
    assert not (tmp_path / "json").exists()


@pytest.mark.parametrize("existed", [False, True], ids=["new folder", "empty folder"])
def test_a_wheel_that_cannot_be_made_leaves_the_folder_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existed: bool
):
    root = tmp_path / "acme"
    if existed:
        root.mkdir()

    def no_wheel(destination: Path) -> Path:
        raise ScaffoldError("building s3flow's wheel failed")

    monkeypatch.setattr(create_module, "write_wheel", no_wheel)

    with pytest.raises(ScaffoldError, match="wheel failed"):
        create_project(root)
    assert root.exists() == existed and (not existed or list(root.iterdir()) == [])
