"""The options every command that talks to a deployment shares: which stack, which endpoint,
which region, and JSON output. One declaration, so their names, variables and help agree."""

from __future__ import annotations

from typing import Annotated

import typer

from s3flow.cli.target import ENDPOINT_ENV, STACK_ENV

StackOption = Annotated[
    str | None,
    typer.Option("--stack", envvar=STACK_ENV, help="Stack to read outputs from; alone, it targets AWS."),
]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url", envvar=ENDPOINT_ENV, help="Endpoint to talk to (default: local emulator)."
    ),
]
RegionOption = Annotated[str | None, typer.Option("--region", help="AWS region (default: your AWS config).")]
JsonOption = Annotated[
    bool, typer.Option("--json", help="JSON Lines: one document per line, every attribute, numbers exact.")
]
