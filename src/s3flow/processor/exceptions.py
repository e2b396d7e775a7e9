"""Every error the processor raises on purpose; handled by type, never by message."""

from __future__ import annotations


class ProcessorError(Exception):
    """Base of the processor's own errors."""


class ConfigurationError(ProcessorError):
    """A required environment setting is missing or malformed."""


class InvalidRecordError(ProcessorError):
    """An S3 record that cannot be processed (missing or malformed fields)."""


class RetryableProcessingError(ProcessorError):
    """Some records hit transient failures; raising lets Lambda's async retry redeliver.

    Records that finished are skipped as duplicates on redelivery, so a retry only
    repeats the unfinished work.
    """

    def __init__(self, message: str, *, summary: dict[str, int]) -> None:
        super().__init__(message)
        self.summary = summary


class StepConfigurationError(ConfigurationError):
    """A processing step cannot be registered or imported (bad spec, missing module, clash)."""


class StepOutputError(ProcessorError):
    """A processing step returned something we cannot store: not a mapping, not JSON, too big."""
