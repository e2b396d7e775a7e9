"""The wheel of the installed s3flow: built from the source tree of an editable install, or
packed again from a wheel install's files; either holds the package data a project needs."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from importlib.metadata import PathDistribution
from pathlib import Path

import pytest

from s3flow.scaffold import ScaffoldError
from s3flow.scaffold.wheel import build_wheel, editable_source, file_sha256, repack, write_wheel

ROOT = Path(__file__).resolve().parents[3]
# What an installed s3flow reads from its own files: the bundler's lock and init's project.
PACKAGE_DATA = (
    "s3flow/infra/requirements-lambda.txt",
    "s3flow/scaffold/requirements-project.txt",
    "s3flow/scaffold/project/app.py.tmpl",
    "s3flow/scaffold/project/{{package}}/line_stats.py.tmpl",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(ROOT, tmp_path_factory.mktemp("built"))


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _installed_with(tmp_path: Path, direct_url: dict | None) -> PathDistribution:
    info = tmp_path / "s3flow-0.1.0.dist-info"
    info.mkdir()
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    return PathDistribution(info)


def test_an_editable_install_is_built_from_the_source_tree_its_direct_url_names(tmp_path: Path):
    tree = tmp_path / "my checkout"
    editable = {"url": tree.as_uri(), "dir_info": {"editable": True}}

    assert editable_source(_installed_with(tmp_path, editable)) == tree


@pytest.mark.parametrize(
    "direct_url",
    [None, {"url": "file:///wheels/s3flow-0.1.0-py3-none-any.whl", "archive_info": {}},
     {"url": "file:///src/s3flow", "dir_info": {}}],
    ids=["from an index", "from a wheel file", "from a folder, not editable"],
)  # fmt: skip
def test_any_other_install_has_no_source_tree(tmp_path: Path, direct_url: dict | None):
    assert editable_source(_installed_with(tmp_path, direct_url)) is None


def test_the_built_wheel_holds_the_package_and_its_data_and_nothing_of_the_build(built: Path):
    names = _names(built)

    assert built.name == "s3flow-0.1.0-py3-none-any.whl"
    assert set(PACKAGE_DATA) <= names
    assert "s3flow/functions/processor/handler.py" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert not (ROOT / "build").exists()  # built from a copy: nothing written into the checkout


def test_a_wheel_install_is_packed_again_with_the_same_files_and_a_true_record(built: Path, tmp_path: Path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-index", "--target", str(site), str(built)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    (installed,) = site.glob("s3flow-*.dist-info")

    repacked = repack(PathDistribution(installed), tmp_path / "out")

    assert repacked.name == built.name
    assert _names(repacked) == _names(built)
    with zipfile.ZipFile(repacked) as new, zipfile.ZipFile(built) as old:
        record = new.read(f"{installed.name}/RECORD").decode()
        for name in new.namelist():
            if not name.endswith(("/RECORD", "/INSTALLER", "/REQUESTED")):
                assert new.read(name) == old.read(name), name
        for path, digest, size in csv.reader(io.StringIO(record)):
            if path.endswith("/RECORD"):
                continue
            data = new.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={expected}", len(data)), path


def test_a_wheel_install_is_packed_again_by_write_wheel(built: Path, tmp_path: Path):
    site = tmp_path / "site"
    with zipfile.ZipFile(built) as archive:
        archive.extractall(site)
    (info,) = site.glob("s3flow-*.dist-info")
    (info / "direct_url.json").write_text(json.dumps({"url": built.as_uri(), "archive_info": {}}))

    wheel = write_wheel(tmp_path / "vendor", PathDistribution(info))

    assert wheel.parent == tmp_path / "vendor" and set(PACKAGE_DATA) <= _names(wheel)
    assert f"{info.name}/direct_url.json" not in _names(wheel)  # the installer's, not the wheel's


def test_an_installed_distribution_without_a_record_is_refused(tmp_path: Path):
    info = tmp_path / "s3flow-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: s3flow\nVersion: 0.1.0\n")

    with pytest.raises(ScaffoldError, match="has no RECORD: reinstall it"):
        repack(PathDistribution(info), tmp_path)


def test_a_source_tree_that_is_gone_is_refused_in_one_line(tmp_path: Path):
    with pytest.raises(ScaffoldError, match=r"has no pyproject.toml, README.md, src: reinstall s3flow"):
        build_wheel(tmp_path, tmp_path / "out")


def test_the_hash_is_pips(tmp_path: Path):
    path = tmp_path / "file"
    path.write_bytes(b"x" * 3_000_000)

    assert file_sha256(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()
