"""Running ``s3flow local up`` as a user does: a foreground process, its output read as it
comes, stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .conftest import free_port

S3FLOW = [sys.executable, "-c", "from s3flow.cli.main import app; app()"]
BANNER_END = "stop with Ctrl-C"


class Lines:
    """Collects a process's output lines in the background."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.1)
        return False

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class LocalUp:
    port: int
    output: Lines
    exit_code: int | None = field(default=None)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def local_up(synthesized: Path, *options: str, ctrl_c_to_group: bool = False) -> Iterator[LocalUp]:
    """`s3flow local up` on a free port, yielded once it serves; Ctrl-C when the block ends
    (to its whole process group when ``ctrl_c_to_group``, as a terminal sends it), after which
    ``exit_code`` holds how it ended."""
    port = free_port()
    process = subprocess.Popen(
        [*S3FLOW, "local", "up", "--port", str(port), "--cdk-out", str(synthesized), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
        process_group=0 if ctrl_c_to_group else None,
    )
    run = LocalUp(port, Lines(process))
    try:
        assert run.output.wait_for(BANNER_END, 120), run.output.text
        yield run
    finally:
        if ctrl_c_to_group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        try:
            run.exit_code = process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        run.output.join(10)
