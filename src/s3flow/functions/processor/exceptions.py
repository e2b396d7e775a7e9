"""Errors only the processor raises on purpose; handled by type, never by message."""

from __future__ import annotations

from s3flow.functions.shared.errors import ConfigurationError, FunctionError


class InvalidRecordError(FunctionError):
    """An S3 record that cannot be processed (missing or malformed fields)."""


class StepConfigurationError(ConfigurationError):
    """A processing step cannot be registered or imported (bad spec, missing module, clash)."""


class StepOutputError(FunctionError):
    """A processing step returned something we cannot store: not a mapping, not JSON, too big."""
