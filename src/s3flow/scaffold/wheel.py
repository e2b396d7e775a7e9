"""A wheel of the installed s3flow, for a project to install with ``--require-hashes``.

From a source tree (an editable install, ``pip install -e .``): pip builds it from a copy of
the tree's pyproject.toml, README.md and ``src/``, so the build leaves nothing in the
checkout, with the build backend already installed (``--no-build-isolation``: no network).
From a wheel install: the installed files, as RECORD lists them, packed again into a wheel
with a RECORD of their own hashes. Either way nothing is downloaded.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import Distribution, distribution
from pathlib import Path
from urllib.parse import unquote, urlparse

from s3flow.scaffold.errors import ScaffoldError

DISTRIBUTION = "s3flow"
# What the build reads of a source tree (pyproject.toml names README.md as the readme).
SOURCE_FILES = ("pyproject.toml", "README.md")
SOURCE_FOLDER = "src"
# Files the installer wrote into the .dist-info, not part of the wheel it installed.
_INSTALLER_FILES = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"}
BUILD_TIMEOUT_SECONDS = 300


def file_sha256(path: Path) -> str:
    """The hex sha256 pip compares with a requirement's ``--hash=sha256:``."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def editable_source(dist: Distribution) -> Path | None:
    """The source tree of an editable install (PEP 610's direct_url.json), or None."""
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    direct_url = json.loads(text)
    if not direct_url.get("dir_info", {}).get("editable"):
        return None
    url = urlparse(direct_url["url"])
    return Path(unquote(url.path)) if url.scheme == "file" else None


def write_wheel(destination: Path, dist: Distribution | None = None) -> Path:
    """The installed s3flow as a wheel in ``destination``; its path."""
    dist = dist or distribution(DISTRIBUTION)
    destination.mkdir(parents=True, exist_ok=True)
    source = editable_source(dist)
    if source is not None:
        return build_wheel(source, destination)
    return repack(dist, destination)


def build_wheel(source: Path, destination: Path) -> Path:
    """pip's wheel of the source tree at ``source``, built from a copy of it."""
    missing = [name for name in (*SOURCE_FILES, SOURCE_FOLDER) if not (source / name).exists()]
    if missing:
        raise ScaffoldError(f"s3flow's source tree {source} has no {', '.join(missing)}: reinstall s3flow")
    with tempfile.TemporaryDirectory(prefix="s3flow-wheel-") as scratch:
        tree, out = Path(scratch) / "tree", Path(scratch) / "out"
        tree.mkdir()
        for name in SOURCE_FILES:
            shutil.copy2(source / name, tree / name)
        shutil.copytree(
            source / SOURCE_FOLDER,
            tree / SOURCE_FOLDER,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build"),
        )
        command = [
            sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--no-build-isolation", str(tree), "-w", str(out),
        ]  # fmt: skip
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=BUILD_TIMEOUT_SECONDS
        )
        wheels = sorted(out.glob("*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            last = (result.stderr.strip().splitlines() or ["no wheel written"])[-1]
            raise ScaffoldError(f"building s3flow's wheel from {source} failed: {last}")
        target = destination / wheels[0].name
        shutil.move(wheels[0], target)
    return target


def _record_hash(data: bytes) -> str:
    """A RECORD hash: sha256, urlsafe base64 without padding (the wheel spec's form)."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def repack(dist: Distribution, destination: Path) -> Path:
    """The files the installed wheel put in site-packages, as a wheel again.

    Left out: what lies outside site-packages (console scripts, which the installer makes again
    from entry_points.txt), bytecode, and what the installer added to the .dist-info.
    """
    files = dist.files
    if not files:
        raise ScaffoldError(f"the installed {DISTRIBUTION} has no RECORD: reinstall it with pip")
    dist_info = next((f.parts[0] for f in files if f.parts[0].endswith(".dist-info")), None)
    if dist_info is None:
        raise ScaffoldError(f"the installed {DISTRIBUTION} has no .dist-info folder: reinstall it with pip")
    wheel_metadata = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel_metadata.splitlines() if line.startswith("Tag:")]
    if len(tags) != 1:
        raise ScaffoldError(f"the installed {DISTRIBUTION} is not from a wheel of one tag: reinstall it")
    name = f"{dist.metadata['Name'].replace('-', '_')}-{dist.version}-{tags[0]}.whl"
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / name
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(files, key=str):
            parts = file.parts
            if parts[0] == ".." or "__pycache__" in parts or file.suffix == ".pyc":
                continue
            if parts[0] == dist_info and len(parts) == 2 and parts[1] in _INSTALLER_FILES:
                continue
            data = Path(str(dist.locate_file(file))).read_bytes()
            arcname = "/".join(parts)
            archive.writestr(arcname, data)
            writer.writerow([arcname, _record_hash(data), len(data)])
        record_name = f"{dist_info}/RECORD"
        writer.writerow([record_name, "", ""])
        archive.writestr(record_name, record.getvalue())
    return target
