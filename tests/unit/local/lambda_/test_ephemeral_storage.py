"""How a sandbox's ``/tmp`` limits what is written to it, in each of its two modes
(``lambda_.ephemeral_storage.enter``), tried in a child process as a sandbox does it."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s3flow.local.lambda_ import ephemeral_storage
from s3flow.local.lambda_.ephemeral_storage import FILE_SIZE_LIMIT, PRIVATE_TMPFS, private_mounts_available

# Enters the storage (2 MB), then writes 3 MB into one file; prints the mode and the errno.
CHILD = """
import json, os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import ephemeral_storage
mode = ephemeral_storage.enter(sys.argv[2], 2, sys.argv[3] == "private")
error = None
try:
    with open(os.path.join(sys.argv[2], "big"), "wb") as file:
        for _ in range(3):
            file.write(b"x" * 1024 * 1024)
except OSError as failed:
    error = failed.errno
print(json.dumps({"mode": mode, "errno": error, "uid": os.getuid()}))
"""


def enter_and_write(folder: Path, private: bool) -> dict[str, object]:
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            CHILD,
            ephemeral_storage.__file__,
            str(folder),
            "private" if private else "limit",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return dict(json.loads(done.stdout))


def test_the_file_size_limit_fails_a_file_past_the_size_with_file_too_large(tmp_path: Path) -> None:
    assert enter_and_write(tmp_path, private=False) == {
        "mode": FILE_SIZE_LIMIT,
        "errno": errno.EFBIG,
        "uid": os.getuid(),
    }


def test_the_private_tmpfs_fails_a_write_past_the_size_with_no_space_left_and_keeps_the_ids(
    tmp_path: Path,
) -> None:
    if not private_mounts_available():
        pytest.skip("this machine allows no private mount namespace")

    assert enter_and_write(tmp_path, private=True) == {
        "mode": PRIVATE_TMPFS,
        "errno": errno.ENOSPC,
        "uid": os.getuid(),
    }
    assert list(tmp_path.iterdir()) == []  # written in the sandbox's tmpfs, not here
