"""Errors of the stack's settings: raised at synth, shown by app.py as one line."""

from __future__ import annotations


class SettingError(ValueError):
    """A prop or context value the stack cannot be built with; the message names both."""
