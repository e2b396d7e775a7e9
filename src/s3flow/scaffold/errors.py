"""What ``s3flow init`` refuses, in one line."""

from __future__ import annotations


class ScaffoldError(Exception):
    """The project cannot be written as asked; the message says why and what to do."""
