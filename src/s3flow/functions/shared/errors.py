"""Errors both functions raise on purpose; handled by type, never by message."""

from __future__ import annotations


class FunctionError(Exception):
    """Base of the functions' own errors."""


class ConfigurationError(FunctionError):
    """A required setting is missing or malformed: the environment, a step, where to call AWS."""


class RetryableProcessingError(FunctionError):
    """Some records hit transient failures; raising lets Lambda's async retry redeliver.

    Records that finished are skipped as duplicates on redelivery, so a retry only
    repeats the unfinished work.
    """

    def __init__(self, message: str, *, summary: dict[str, int]) -> None:
        super().__init__(message)
        self.summary = summary
