"""Errors of the local runtime: one base class, one subclass per thing that can go wrong."""

from __future__ import annotations

from pathlib import Path


class LocalError(Exception):
    """Base of every error the local pipeline raises on purpose."""


class PortInUseError(LocalError):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"port {port} on {host} is already in use (pick another with --port)")
        self.host = host
        self.port = port


class CloudAssemblyMissingError(LocalError):
    def __init__(self, cloud_assembly: Path, stack_name: str) -> None:
        super().__init__(
            f"no synthesized template {stack_name}.template.json in {cloud_assembly} "
            "(synthesize first: python app.py)"
        )
        self.cloud_assembly = cloud_assembly
        self.stack_name = stack_name


class FunctionNotFoundError(LocalError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no local function named {name!r}")
        self.name = name


class RequestTooLargeError(LocalError):
    """An asynchronous invocation's event over Lambda's payload limit, refused before it is
    queued, as Lambda's Invoke refuses it with ``RequestTooLargeException``."""

    def __init__(self, function_name: str, size: int, limit: int) -> None:
        super().__init__(
            f"the event is {size} bytes: asynchronous invocations of {function_name}"
            f" take at most {limit} (RequestTooLargeException)"
        )
        self.function_name = function_name
        self.size = size
        self.limit = limit


class RequestRejected(LocalError):
    """The whole call fails, as AWS fails it (EventBridge ``PutEvents`` over its limits)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidDocumentError(LocalError, ValueError):
    """A line's embedded-metric-format directive (or the document) does not follow the EMF
    specification: the line stays a log line, with no metrics."""
