"""The state folder's error: one line that says what is wrong with it."""

from __future__ import annotations

from s3flow.local.errors import LocalError


class StateError(LocalError):
    """A state folder that cannot be read, or that belongs to another stack: the pipeline
    does not start rather than start empty over it."""
