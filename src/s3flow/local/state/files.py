"""The state folder on disk: one JSON document and the object bodies beside it.

Layout of ``DIR``:

- ``state.json``: everything but object bodies (format, stack, account, region, when it was
  saved, one section per service). It is written to ``state.json.tmp``, flushed to disk, then
  renamed over the old one: a save cut short (a crash, a full disk) leaves the previous state
  whole.
- ``.lock``: held (``flock``) by the pipeline using the folder, so a second one is refused.
- ``bodies/<sha256>``: each object body once, named by its SHA-256, written before the
  document that names it and checked against its name when read. Bodies no document names
  are removed after a save.

Nothing here knows moto: ``snapshot`` makes and applies the document.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from s3flow.local.state.errors import StateError

FORMAT = "s3flow-local-state"
VERSION = 1
DOCUMENT = "state.json"
BODIES = "bodies"
LOCK = ".lock"


class StateFolder:
    """Reads and writes one state folder; see the module doc."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.bodies = self.path / BODIES
        self._written: set[str] = set()  # bodies known to be on disk
        self._names: dict[Any, str] = {}  # identity of an unchanging body -> its name
        self._lock: IO[bytes] | None = None

    @property
    def document(self) -> Path:
        return self.path / DOCUMENT

    def lock(self) -> None:
        """Takes the folder for this process (creating it): a second pipeline on the same
        folder would save over the first's state. POSIX only; elsewhere nothing is taken."""
        if self._lock is not None:
            return
        try:
            import fcntl
        except ImportError:
            return
        if self.path.exists() and not self.path.is_dir():
            raise StateError(f"{self.path} is not a folder")
        self.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.path / LOCK, "wb")  # noqa: SIM115 - held until unlock()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise StateError(
                f"{self.path} is in use by another running pipeline (local up --state)"
            ) from None
        self._lock = handle

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def read(self) -> dict[str, Any] | None:
        """The saved document, or None for a folder that holds no state yet (missing or
        empty). Anything else that is not a state this version can read is a ``StateError``."""
        if not self.path.exists():
            return None
        if not self.path.is_dir():
            raise StateError(f"{self.path} is not a folder")
        if not self.document.is_file():
            others = [
                entry.name
                for entry in self.path.iterdir()
                if entry.name not in (BODIES, LOCK, f"{DOCUMENT}.tmp")
            ]
            if others:
                raise StateError(
                    f"{self.path} is not an s3flow state folder (no {DOCUMENT}; it holds {others[0]})"
                )
            return None
        try:
            document = json.loads(self.document.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise StateError(f"cannot read {self.document}: {error}") from None
        except ValueError as error:
            raise StateError(f"{self.document} is not valid JSON ({error}): the state is damaged") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise StateError(f"{self.document} is not an s3flow state document")
        if document.get("version") != VERSION:
            raise StateError(
                f"{self.document} is state format version {document.get('version')};"
                f" this s3flow reads version {VERSION}"
            )
        return document

    def write(self, document: dict[str, Any]) -> None:
        """Replaces the saved document at once (bodies it names must be written already)."""
        self.path.mkdir(parents=True, exist_ok=True)
        temporary = self.path / f"{DOCUMENT}.tmp"
        data = json.dumps({"format": FORMAT, "version": VERSION, **document}, separators=(",", ":"))
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.document)
        _sync_folder(self.path)

    def put_body(self, data: bytes) -> str:
        """Stores one object body (once per content) and returns its name."""
        name = hashlib.sha256(data).hexdigest()
        if name in self._written:
            return name
        target = self.bodies / name
        if not target.is_file():
            self.bodies.mkdir(parents=True, exist_ok=True)
            temporary = self.bodies / f".{name}.tmp"
            with open(temporary, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        self._written.add(name)
        return name

    def put_body_of(self, identity: Any, read: Callable[[], bytes]) -> str:
        """``put_body(read())``, read once per ``identity`` (e.g. an object version)."""
        name = self._names.get(identity)
        if name is None or name not in self._written:
            name = self._names[identity] = self.put_body(read())
        return name

    def get_body(self, name: str) -> bytes:
        try:
            data = (self.bodies / name).read_bytes()
        except OSError as error:
            raise StateError(f"object body {name} is missing from {self.bodies}: {error.strerror}") from None
        if hashlib.sha256(data).hexdigest() != name:
            raise StateError(
                f"object body {self.bodies / name} is damaged (its content does not match its name)"
            )
        return data

    def remove_bodies_except(self, kept: set[str]) -> None:
        """Removes the bodies no saved document names (after the document naming ``kept`` is saved)."""
        if not self.bodies.is_dir():
            return
        for entry in self.bodies.iterdir():
            if entry.name not in kept:
                with contextlib.suppress(OSError):
                    entry.unlink()
                self._written.discard(entry.name)


def _sync_folder(path: Path) -> None:
    """Makes a rename in ``path`` durable (POSIX; elsewhere the rename alone)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
