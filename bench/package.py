"""4. Deployment package (what Lambda downloads and unpacks on a cold start) and synth time."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench import paths
from bench.report import Table, ms
from bench.stats import median
from s3flow import contract

SKIP_PARTS = ("__pycache__",)


@dataclass(frozen=True)
class Package:
    label: str
    files: int
    unzipped_bytes: int
    zipped_bytes: int
    note: str = ""


def zip_files(label: str, files: dict[str, Path], note: str = "") -> Package:
    """Zips like the CDK does (deflate) in memory; ``files`` maps archive names to paths."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(files.items()):
            archive.write(path, name)
    unzipped = sum(p.stat().st_size for p in files.values())
    return Package(label, len(files), unzipped, len(buffer.getvalue()), note)


def _tree(root: Path, *, bytecode: bool = False) -> dict[str, Path]:
    """The files under ``root``; with ``bytecode``, its ``__pycache__`` too (an asset that ships it)."""
    return {
        str(p.relative_to(root)): p
        for p in root.rglob("*")
        if p.is_file()
        and (bytecode or (not p.name.endswith(".pyc") and not any(s in p.parts for s in SKIP_PARTS)))
    }


def processor_asset_dir() -> Path:
    template = json.loads(paths.processor_template().read_text())
    for resource in template["Resources"].values():
        if (
            resource["Type"] == "AWS::Lambda::Function"
            and resource["Properties"].get("Handler") == contract.HANDLER
        ):
            asset = (
                paths.CLOUD_ASSEMBLY / f"asset.{resource['Properties']['Code']['S3Key'].removesuffix('.zip')}"
            )
            if not asset.is_dir():
                raise paths.BenchSetupError(f"{asset} is missing: run `make synth` again")
            return asset
    raise paths.BenchSetupError(
        f"no function with handler {contract.HANDLER} in {paths.processor_template()}"
    )


def asset_keys() -> dict[str, str]:
    """Handler -> the S3 key of its function's code in the template (one key: one zip for both)."""
    template = json.loads(paths.processor_template().read_text())
    return {
        r["Properties"]["Handler"]: str(r["Properties"]["Code"].get("S3Key"))
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler") in (contract.HANDLER, contract.PUBLISHER_HANDLER)
    }


def stale_asset_files(asset_dir: Path) -> list[str]:
    """Runtime sources whose copy in the synthesized asset differs from src/ (synth is out of date)."""
    source_root, asset_root = paths.PROJECT_ROOT / "src" / "s3flow", asset_dir / "s3flow"
    runtime = [
        source_root / "__init__.py",
        source_root / "contract.py",
        *(source_root / "processor").rglob("*.py"),
    ]
    stale = []
    for source in runtime:
        relative = source.relative_to(source_root)
        copy = asset_root / relative
        if not copy.is_file() or copy.read_bytes() != source.read_bytes():
            stale.append(str(relative))
    return stale


def _distribution_files(name: str) -> dict[str, Path]:
    dist = metadata.distribution(name)
    files = {}
    for f in dist.files or []:
        path = Path(str(dist.locate_file(f)))
        if path.is_file() and f.suffix != ".pyc" and not any(s in f.parts for s in SKIP_PARTS):
            if f.parts[0].startswith("..") or f.parts[0] == "bin":
                continue
            files[str(f)] = path
    return files


def packages() -> list[Package]:
    keys = asset_keys()
    shared = len(keys) == 2 and len(set(keys.values())) == 1
    asset = processor_asset_dir()
    files = _tree(asset, bytecode=True)
    compiled = sum(1 for name in files if name.endswith(".pyc"))
    ours = zip_files(
        "ours: one asset for the processor and the publisher (cdk.out)" if shared
        else "ours: processor asset (cdk.out)",
        files,
        "s3flow (its own AWS client included) + OpenTelemetry API/SDK; botocore, for steps that read S3, "
        "comes from the runtime"
        + (f"; {compiled} of the files are bytecode the bundler compiled" if compiled else "")
        + ("; both functions' Code is this one zip" if shared else
           f"; the functions' code differs: {keys}"),
    )  # fmt: skip
    inline = {"index.py": paths.reference_handler()}
    sdk = {**_distribution_files("aws-xray-sdk"), **_distribution_files("wrapt")}
    return [
        ours,
        zip_files(
            "reference: inline code as written", inline, "fails on import: aws_xray_sdk is not in the runtime"
        ),
        zip_files("reference: inline code + aws-xray-sdk + wrapt", {**inline, **sdk}, "what it needs to run"),
    ]


def synth_times(repeats: int) -> list[float]:
    """Wall time of ``python app.py`` into a scratch folder (the real cdk.out is left alone)."""
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
            env = {**os.environ, "CDK_OUTDIR": outdir}
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "app.py"], cwd=paths.PROJECT_ROOT, env=env, check=True,
                capture_output=True,
            )  # fmt: skip
            times.append((time.perf_counter() - started) * 1000)
    return times


def table(items: list[Package], synth: list[float]) -> Table:
    t = Table("Deployment package and synth", ["package", "files", "unzipped", "zipped", "note"])
    for p in items:
        t.add(
            p.label,
            f"{p.files:,}",
            f"{p.unzipped_bytes / 1024:,.0f} KB",
            f"{p.zipped_bytes / 1024:,.0f} KB",
            p.note,
        )
    if synth:
        t.notes.append(
            f"Synth time of `python app.py` (bundling cache in `.build/` warm): median {ms(median(synth))} "
            f"over {len(synth)} run(s)."
        )
    return t
