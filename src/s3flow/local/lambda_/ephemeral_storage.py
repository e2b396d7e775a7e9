"""Lambda's ``/tmp``, locally: each sandbox gets a directory of its own, sized by the
function's ``EphemeralStorage.Size``.

What Lambda does. An execution environment has ``EphemeralStorage.Size`` MB of ``/tmp`` (512 by
default, up to 10,240) (https://docs.aws.amazon.com/lambda/latest/dg/configuration-ephemeral-storage.html).
It lives as long as the environment: warm invocations find what earlier ones left there, a new
environment starts with an empty one
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). A write past
its size fails with ``OSError`` ENOSPC, "No space left on device".

What stands for it here. Each sandbox gets a directory of its own under this machine's
temporary directory, named by ``TMPDIR`` in its environment, so ``tempfile`` (``gettempdir``,
``mkstemp``, ``TemporaryDirectory``, ``SpooledTemporaryFile``) and anything else that honours
``TMPDIR`` writes there. It lives as long as the sandbox, and is removed when the sandbox ends
(it died, timed out, went past its memory, was replaced, or the runtime stopped).

How the size is enforced, whichever this machine allows (``private_mounts_available``):

- **a private tmpfs** (Linux, as root, or as a user where user namespaces are allowed, as
  most distributions allow them): the sandbox, before it imports the handler, moves into a mount
  namespace of its own (inside a user namespace of its own unless it is root) and mounts a tmpfs
  of exactly the size on its directory, which no other process sees. A write past the size
  fails with ENOSPC, counted over all its files, as on AWS. The sandbox keeps its user and group
  ids; an unprivileged one gives up the capabilities its user namespace lent it. The tmpfs is
  the machine's memory (not counted in the sandbox's memory, as Lambda's ``/tmp`` is not in its
  ``MemorySize``) and is freed when the sandbox ends.
- **otherwise a file size limit** (macOS; Linux with user namespaces off, or restricted as
  Ubuntu 24.04's AppArmor restricts them): ``RLIMIT_FSIZE`` of the size, so no file the sandbox
  writes can grow past it. The write fails with EFBIG, "File too large", not ENOSPC, and several
  files together are not limited.

Not enforced, either way: a function that writes to the literal path ``/tmp`` instead of
``tempfile``/``TMPDIR`` writes to this machine's ``/tmp``, shared by all, limited only by the
file size limit in the second mode; and writes outside ``/tmp``, which fail on AWS (the rest of
Lambda's file system is read-only), succeed here.

This module is loaded into the sandbox by file (``sandbox.py`` imports nothing of the
emulator): it imports only the standard library.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

DEFAULT_SIZE_MB = 512  # Lambda's default EphemeralStorage.Size
MB = 1024 * 1024

PRIVATE_TMPFS = "private tmpfs"
FILE_SIZE_LIMIT = "file size limit"

# linux/sched.h, linux/mount.h, linux/capability.h
_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_REC = 0x4000
_MS_PRIVATE = 0x40000
_CAPABILITY_VERSION_3 = 0x20080522


@dataclass(frozen=True)
class EphemeralStorage:
    """One sandbox's ``/tmp``: its directory, size, and whether it is a private tmpfs."""

    path: str
    size_mb: int
    private_mount: bool

    @classmethod
    def create(cls, function_name: str, size_mb: int = DEFAULT_SIZE_MB) -> EphemeralStorage:
        path = tempfile.mkdtemp(prefix=f"{function_name[:40]}-", dir=_storage_root())
        return cls(path, size_mb, private_mounts_available())

    def setup(self) -> dict[str, Any]:
        """What the sandbox needs to set it up (``enter``'s arguments)."""
        return {"path": self.path, "size_mb": self.size_mb, "private_mount": self.private_mount}

    def remove(self) -> None:
        """Empties and removes the directory (once its sandbox has ended: a private tmpfs is
        already gone with the sandbox's mount namespace)."""
        shutil.rmtree(self.path, ignore_errors=True)


def enter(path: str, size_mb: int, private_mount: bool) -> str:
    """In the sandbox, before anything else runs there (it must be single-threaded): mounts the
    private tmpfs or, failing that, sets the file size limit. Returns which of the two it did."""
    if private_mount and _mount_private_tmpfs(path, size_mb * MB):
        return PRIVATE_TMPFS
    _limit_file_size(size_mb * MB)
    return FILE_SIZE_LIMIT


@functools.cache
def private_mounts_available() -> bool:
    """Whether a sandbox can have its private tmpfs here: tried once per process, in a throwaway
    interpreter (a process that made a user namespace and then could not use it cannot go back)."""
    if sys.platform != "linux":
        return False
    probe = tempfile.mkdtemp(prefix="probe-", dir=_storage_root())
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", os.path.abspath(__file__), probe],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return done.returncode == 0


@functools.cache
def _storage_root() -> str:
    """The folder that holds every sandbox's directory; made once per process, removed when it exits."""
    root = tempfile.mkdtemp(prefix="s3flow-lambda-tmp-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def _mount_private_tmpfs(path: str, size_bytes: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if not _private_mount_namespace(libc):
            return False
        # Nothing mounted in this namespace reaches the one it was copied from.
        if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
            return False
        options = f"size={size_bytes},mode=0700".encode()
        if libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", _MS_NOSUID | _MS_NODEV, options) != 0:
            return False
        if os.geteuid() != 0:
            _drop_capabilities(libc)
    except (OSError, AttributeError):  # AttributeError: no unshare or mount in this libc
        return False
    return True


def _private_mount_namespace(libc: ctypes.CDLL) -> bool:
    """Moves this process into a mount namespace of its own. Root may do so alone; anyone
    else needs a user namespace around it, in which it keeps its own ids (files keep their
    owner, ``os.getuid()`` its answer; it may not change its groups)."""
    uid, gid = os.geteuid(), os.getegid()
    if uid == 0 and libc.unshare(_CLONE_NEWNS) == 0:
        return True
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS) != 0:
        return False
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    return True


def _write(path: str, text: str) -> None:
    with open(path, "w") as file:
        file.write(text)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    """Gives up the capabilities a new user namespace grants its creator: an unprivileged
    sandbox keeps none, as before (it cannot unmount or grow its tmpfs)."""
    if libc.capset(ctypes.byref(_CapHeader(_CAPABILITY_VERSION_3, 0)), (_CapData * 2)()) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def _limit_file_size(size_bytes: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    limit = size_bytes if hard == resource.RLIM_INFINITY else min(size_bytes, hard)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


if __name__ == "__main__":  # the probe: ``python -I -S ephemeral_storage.py DIR``
    sys.exit(0 if _mount_private_tmpfs(sys.argv[1], MB) else 1)
