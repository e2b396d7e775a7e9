"""Every failure the CLI can meet, turned into one line for the user.

Commands raise ``CliError`` (or let boto3's and the local emulator's errors through);
``describe`` maps each to one sentence, and the command group prints it with a
non-zero exit instead of a traceback. Set ``S3FLOW_DEBUG=1`` to see the traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import typer
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    SSLError,
)
from typer.core import TyperGroup


class CliError(Exception):
    """A failure the user can act on; the message is the whole story."""

    exit_code = 1


class EmulatorUnreachableError(CliError):
    def __init__(self, endpoint_url: str) -> None:
        super().__init__(f"no emulator at {endpoint_url}: start it with `s3flow local up`")


class StackNotFoundError(CliError):
    def __init__(self, stack_name: str, where: str) -> None:
        super().__init__(
            f"stack {stack_name} not found {where}: check --stack (the local default is TapStackdev)"
        )


def _local_error_types() -> tuple[type[BaseException], ...]:
    try:
        from s3flow.local import LocalError
    except ImportError:  # the local runtime is optional for commands that target AWS
        return ()
    return (LocalError,)


def describe(error: BaseException) -> str:
    """One line for any error a command may raise."""
    if isinstance(error, CliError):
        return str(error)
    if isinstance(error, SSLError):
        return _untrusted(_base_url(error.kwargs.get("endpoint_url", "")), error.kwargs.get("error"))
    if isinstance(error, ConnectionClosedError) and error.kwargs.get("endpoint_url", "").startswith("http:"):
        url = _base_url(error.kwargs["endpoint_url"])
        return f"{url} closed the connection unanswered: if it serves HTTPS (`s3flow local up --tls`), use https://"
    if isinstance(error, EndpointConnectionError):
        url = _base_url(error.kwargs.get("endpoint_url", ""))
        if url.endswith(".amazonaws.com"):
            return f"cannot reach AWS at {url}: check your network"
        return f"no emulator at {url}: start it with `s3flow local up`"
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return (
            "no AWS credentials found: configure them (aws configure, AWS_PROFILE)"
            " or drop --stack to use the local emulator"
        )
    if isinstance(error, NoRegionError):
        return "no AWS region configured: set AWS_DEFAULT_REGION or pass --region"
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{error.operation_name} failed: {err.get('Code', 'Error')}: {err.get('Message', '')}".rstrip(
            ": "
        )
    if isinstance(error, _local_error_types()):
        return str(error)
    if isinstance(error, FileNotFoundError):
        return f"no such file: {error.filename}"
    if isinstance(error, OSError):
        return f"{error.strerror or error}: {error.filename}" if error.filename else str(error)
    return f"unexpected {type(error).__name__}: {error}"


def _untrusted(url: str, cause: object) -> str:
    """An HTTPS endpoint whose certificate did not verify: the emulator of ``local up --tls``
    is signed by a CA made for its run, which the user names in S3FLOW_CA_BUNDLE."""
    args = getattr(cause, "args", None) or [None]
    inner = args[0] if isinstance(args[0], BaseException) else cause
    if isinstance(inner, FileNotFoundError):
        return (
            f"the CA file given for {url} (S3FLOW_CA_BUNDLE or AWS_CA_BUNDLE) does not exist: "
            "the CA of `s3flow local up --tls` exists only while it runs"
        )
    reason = getattr(inner, "verify_message", None) or getattr(inner, "reason", None)
    why = f" ({reason})" if reason else ""
    if url.endswith(".amazonaws.com"):
        return f"the certificate of {url} did not verify{why}: check your network and AWS_CA_BUNDLE"
    return (
        f"the certificate of {url} did not verify{why}: for `s3flow local up --tls`, "
        "export S3FLOW_CA_BUNDLE=<the CA file its banner shows>"
    )


def _base_url(url: str) -> str:
    """``http://127.0.0.1:4566/`` from the full request URL botocore reports."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


class OneLineErrorGroup(TyperGroup):
    """Runs the command line; any error becomes one line on stderr and a non-zero exit."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            rv = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except typer.Exit as exit_:
            sys.exit(exit_.exit_code)
        except typer.Abort:
            fail("aborted", 130)
        except typer.TyperException as error:  # click's usage errors, as typer vendors them
            if type(error).__name__ == "NoArgsIsHelpError":
                error.show()  # type: ignore[attr-defined]
                sys.exit(2)
            ctx = getattr(error, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            fail(f"{error.format_message()}{hint}", getattr(error, "exit_code", 2))  # type: ignore[attr-defined]
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as error:  # the one place that turns errors into a line
            if os.environ.get("S3FLOW_DEBUG"):
                traceback.print_exc()
            fail(describe(error), getattr(error, "exit_code", 1))
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)
