"""The two handlers compared, and the Lambda-like environment each child interpreter gets."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import paths
from bench.emulator import CREDENTIALS, Resources
from bench.events import REGION
from bench.index_model import REFERENCE_INDEX, our_index
from s3flow import contract

MEMORY_MB = 256  # both designs configure 256 MB (ours: both functions)
PROCESSOR, PUBLISHER = "processor", "publisher"
PROCESSOR_FUNCTION = "s3-object-processor-dev"
PUBLISHER_FUNCTION = f"{contract.PUBLISHER_FUNCTION_PREFIX}-dev"
NO_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")


@dataclass(frozen=True, eq=False)  # compared by identity: each is one row
class Side:
    name: str  # "ours" or "reference"
    module: str  # imported by the child; exposes ``handler``
    function_name: str
    # Its design's secondary index (``bench.index_model``): which writes also write the index.
    index: dict[str, Any]
    path_entries: tuple[str, ...] = ()  # prepended to sys.path, like /var/task
    # True: packaged code has no .pyc and none may be written, as in a read-only Lambda /var/task.
    as_shipped: bool = False
    # True: the packaged code carries its own __pycache__ (compiled at build time), read in place.
    compiled: bool = False
    sampled: bool = True  # False: the invocation's trace header says Sampled=0 (most of them, on AWS)
    extra_env: dict[str, str] = field(default_factory=dict)
    # PROCESSOR: served an S3 event; PUBLISHER: ours' second function, served a table stream batch.
    role: str = PROCESSOR
    # True: this row is the code as Lambda gets it (the asset's bytecode included when it ships any).
    shipped_form: bool = False
    note: str = ""  # replaces the "as shipped" remark in the label

    @property
    def label(self) -> str:
        label = self.name if self.role == PROCESSOR else f"{self.name} publisher"
        if self.note:
            label += f" ({self.note})"
        elif self.as_shipped:
            label += " (as shipped, with bytecode)" if self.compiled else " (as shipped)"
        return label if self.sampled else f"{label}, unsampled invocation"


def ours() -> Side:
    return Side("ours", paths.OUR_HANDLER_MODULE, PROCESSOR_FUNCTION, our_index())


def reference() -> Side:
    return Side(
        "reference",
        paths.reference_handler().stem,
        PROCESSOR_FUNCTION,
        REFERENCE_INDEX,
        (str(paths.reference_handler().parent),),
    )


def ours_unsampled() -> Side:
    return Side("ours", paths.OUR_HANDLER_MODULE, PROCESSOR_FUNCTION, our_index(), sampled=False)


def ships_bytecode(asset_dir: Path) -> bool:
    """True when the bundler compiled the asset (``__pycache__`` in it, for Lambda's Python)."""
    return any(asset_dir.rglob("*.pyc"))


def _task_without_bytecode(asset_dir: Path, scratch: Path) -> Path:
    target = scratch / "ours-task"
    if not target.exists():
        shutil.copytree(asset_dir, target, ignore=NO_BYTECODE)
    return target


def _task_compiled_here(asset_dir: Path, scratch: Path) -> Path:
    """The asset compiled for this interpreter: its own bytecode is for Lambda's Python version."""
    target = scratch / "ours-task-compiled"
    if not target.exists():
        shutil.copytree(asset_dir, target, ignore=NO_BYTECODE)
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(target)],
            check=True, capture_output=True,
        )  # fmt: skip
    return target


def ours_as_shipped(asset_dir: Path, scratch: Path) -> Side:
    """Our asset as synthesized (cdk.out), copied without bytecode."""
    compiled_asset = ships_bytecode(asset_dir)
    return Side(
        "ours", paths.OUR_HANDLER_MODULE, PROCESSOR_FUNCTION, our_index(),
        (str(_task_without_bytecode(asset_dir, scratch)),), as_shipped=True,
        shipped_form=not compiled_asset, note="asset without its bytecode" if compiled_asset else "",
    )  # fmt: skip


def ours_as_shipped_compiled(asset_dir: Path, scratch: Path) -> Side:
    """Our asset with bytecode compiled at build time: as the bundler ships it, when it does."""
    return Side(
        "ours", paths.OUR_HANDLER_MODULE, PROCESSOR_FUNCTION, our_index(),
        (str(_task_compiled_here(asset_dir, scratch)),), as_shipped=True, compiled=True,
        shipped_form=ships_bytecode(asset_dir),
    )  # fmt: skip


def ours_publisher() -> Side:
    return Side("ours", paths.OUR_PUBLISHER_MODULE, PUBLISHER_FUNCTION, our_index(), role=PUBLISHER)


def ours_publisher_as_shipped(asset_dir: Path, scratch: Path) -> Side:
    """The publisher from the same asset folder as the processor: one zip serves both functions."""
    compiled = ships_bytecode(asset_dir)
    task = _task_compiled_here(asset_dir, scratch) if compiled else _task_without_bytecode(asset_dir, scratch)
    return Side(
        "ours", paths.OUR_PUBLISHER_MODULE, PUBLISHER_FUNCTION, our_index(), (str(task),),
        as_shipped=True, compiled=compiled, role=PUBLISHER, shipped_form=True,
    )  # fmt: skip


def reference_as_shipped(scratch: Path) -> Side:
    """The reference's inline code plus the X-Ray SDK (and wrapt) it needs, without bytecode."""
    target = scratch / "reference-task"
    if not target.exists():
        for distribution in ("aws-xray-sdk", "wrapt"):
            for top in _top_level_packages(distribution):
                shutil.copytree(top, target / top.name, ignore=NO_BYTECODE)
    return Side(
        "reference",
        paths.reference_handler().stem,
        PROCESSOR_FUNCTION,
        REFERENCE_INDEX,
        (str(paths.reference_handler().parent), str(target)),
        as_shipped=True,
        shipped_form=True,
    )


def _top_level_packages(distribution: str) -> list[Path]:
    dist = metadata.distribution(distribution)
    names = {str(f).split("/")[0] for f in dist.files or [] if str(f).endswith(".py") and "/" in str(f)}
    return [Path(str(dist.locate_file(name))) for name in sorted(names) if not name.endswith(".dist-info")]


def child_env(side: Side, resources: Resources, daemon_address: str, pycache: Path) -> dict[str, str]:
    """What Lambda would set, pointed at the emulator; X-Ray tracing on for both sides."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        **CREDENTIALS,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": resources.endpoint_url,
        "AWS_LAMBDA_FUNCTION_NAME": side.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": side.path_entries[0] if side.path_entries else str(paths.PROJECT_ROOT),
        "AWS_XRAY_DAEMON_ADDRESS": daemon_address,
        "AWS_XRAY_SDK_ENABLED": "true",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        **function_env(side, resources),
        **side.extra_env,
    }
    if resources.ca_bundle is not None:
        # Served over HTTPS (bench.emulator): ours trusts it through Python's default context,
        # the reference through botocore's AWS_CA_BUNDLE.
        env["SSL_CERT_FILE"] = env["AWS_CA_BUNDLE"] = resources.ca_bundle
    if not side.compiled:
        # Bytecode for the runtime's own modules is cached outside the venv and shared/; a compiled
        # asset is read where it lies (a cache prefix would hide its __pycache__).
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    if side.path_entries:
        env["PYTHONPATH"] = ":".join(side.path_entries)
    if side.as_shipped:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def function_env(side: Side, resources: Resources) -> dict[str, str]:
    """What each function's stack gives it: our processor has no bus, our publisher no table."""
    table = {
        contract.ENV_TABLE_NAME: resources.table_name,
        contract.ENV_TIME_INDEX_SHARDS: str(contract.DEFAULT_TIME_INDEX_SHARDS),
    }
    bus = {contract.ENV_EVENT_BUS_NAME: resources.event_bus_name}
    env = {contract.ENV_ENVIRONMENT: "dev"}
    if side.name == "reference":
        return {**table, **bus, **env}
    return {**(bus if side.role == PUBLISHER else table), **env}


def python() -> str:
    return sys.executable
