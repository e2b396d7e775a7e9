"""Handlers for the memory and ``/tmp`` tests, run inside the sandboxes.

The standard library only, unlike ``runtime_support`` (which loads the emulator, tens of MB):
a sandbox that imports this module holds little more than the sandbox itself, so the memory
tests can give their functions Lambda's smallest ``MemorySize``.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

MB = 1024 * 1024

_held: list[bytes] = []  # what ``hold`` keeps across warm invocations


def hold(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Allocates ``mb`` MB (written, so resident) and keeps it; then sleeps ``then_sleep`` s."""
    _held.append(b"\x01" * (event["mb"] * MB))
    time.sleep(event.get("then_sleep", 0))
    return {"pid": os.getpid(), "held_mb": sum(len(chunk) for chunk in _held) // MB}


def spike(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Allocates ``mb`` MB and lets it go before answering: only the peak remembers it."""
    block = b"\x01" * (event["mb"] * MB)
    del block
    return {"pid": os.getpid()}


def tmp_files(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Writes ``write`` (name -> MB) into the temporary directory, or exits the process when
    ``die``; answers with the directory, what it holds, and the error of a write that failed."""
    if event.get("die"):
        os._exit(3)
    folder = tempfile.gettempdir()
    error = None
    for name, size in event.get("write", {}).items():
        try:
            with open(os.path.join(folder, name), "wb") as file:
                for _ in range(size):
                    file.write(b"\x02" * MB)
        except OSError as failed:
            error = {"errno": failed.errno, "strerror": failed.strerror, "file": name}
            break
    usage = os.statvfs(folder)
    return {
        "pid": os.getpid(),
        "tmpdir": folder,
        "environ": os.environ.get("TMPDIR"),
        "files": sorted(os.listdir(folder)),
        "error": error,
        "filesystem_bytes": usage.f_blocks * usage.f_frsize,
    }
