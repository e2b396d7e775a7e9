"""Starts one child interpreter for one side and collects what it measured."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import paths
from bench.emulator import Resources, UdpSink
from bench.sides import MEMORY_MB, Side, child_env, python

CHILD_TIMEOUT_S = 300


class ChildFailed(RuntimeError):
    pass


@dataclass
class ChildRun:
    side: Side
    result: dict[str, Any]
    process_ms: float  # spawn to exit, as the parent saw it
    trace_datagrams: int
    log_bytes: int


def run_child(side: Side, spec: dict[str, Any], resources: Resources, scratch: Path) -> ChildRun:
    with tempfile.TemporaryDirectory(dir=scratch) as work:
        spec_path, output, log = Path(work, "spec.json"), Path(work, "out.json"), Path(work, "log.txt")
        spec = {
            **spec,
            "module": side.module,
            "function_name": side.function_name,
            "index": side.index,
            "sampled": side.sampled,
            "memory_mb": MEMORY_MB,
            "table_name": resources.table_name,
            "output": str(output),
        }
        spec_path.write_text(json.dumps(spec))
        with UdpSink() as sink, log.open("ab") as log_stream:
            env = child_env(side, resources, sink.address, scratch / "pycache")
            started = time.perf_counter()
            completed = subprocess.run(
                [python(), "-m", "bench.child", str(spec_path)],
                cwd=paths.PROJECT_ROOT,
                env=env,
                stdout=log_stream,
                stderr=log_stream,
                timeout=CHILD_TIMEOUT_S,
                check=False,
            )
            process_ms = (time.perf_counter() - started) * 1000
        if completed.returncode != 0 or not output.is_file():
            tail = log.read_text(errors="replace")[-3000:]
            raise ChildFailed(
                f"{side.label} {spec['mode']} run failed (exit {completed.returncode}):\n{tail}"
            )
        return ChildRun(side, json.loads(output.read_text()), process_ms, sink.datagrams, log.stat().st_size)
