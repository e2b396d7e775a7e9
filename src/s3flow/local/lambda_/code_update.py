"""A function's code replaced while it runs, as Lambda's ``UpdateFunctionCode`` does.

On AWS an update gives ``$LATEST`` a new ``CodeSha256``; invocations already running finish
in their execution environments on the code they started with, and the invocations that
come after the update runs in new environments with the new code
(docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html,
docs.aws.amazon.com/lambda/latest/dg/functions-states.html: while ``LastUpdateStatus`` is
``InProgress`` invocations still run the previous code). Locally the runtime does the same
(``LambdaRuntime.update_function_code``): the function's spec gets the new asset folder, each
of its sandboxes is retired once its current invocation ends, and the next invocation starts a
new sandbox on the new code.

``CodeVersion`` names the code an attempt ran: a counter per function (``v1`` at start, one
more per update) and the first eight hex digits of the asset's hash. CDK names each asset
folder ``asset.<sha256 of its content>``, so that hash stands for the ``CodeSha256`` Lambda
reports (the zip's hash, which this folder is never packed into locally).

``import_problem`` imports a function's handler and processing steps from a new asset in a
fresh interpreter that sees only the asset and what Lambda's runtime adds, as the sandbox
would: code that would fail every invocation is refused before anything runs it (synth makes
the same check of the steps, ``s3flow.infra.bundling.step_problem``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from s3flow import contract
from s3flow.lambda_runtime import IMPORT_CHECK_ENVIRONMENT, import_check_arguments
from s3flow.local.deployment import FunctionSpec
from s3flow.local.lambda_.runtime_packages import runtime_packages_folder
from s3flow.local.lambda_.sandbox import bytecode_cache

ASSET_PREFIX = "asset."
IMPORT_CHECK_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class CodeVersion:
    """Which code of a function ran: ``number`` counts its code (1 at start), ``sha`` is the
    asset's hash, cut to eight hex digits ("" for a function run from the emulator's path)."""

    number: int
    sha: str = ""

    def __str__(self) -> str:
        return f"v{self.number} {self.sha}" if self.sha else f"v{self.number}"

    def next(self, code_directory: str | None) -> CodeVersion:
        return CodeVersion(self.number + 1, asset_sha(code_directory))


def asset_sha(code_directory: str | None) -> str:
    """The first eight hex digits of the hash an asset folder is named after (``asset.<hash>``)."""
    if code_directory is None:
        return ""
    name = Path(code_directory).name
    return name.removeprefix(ASSET_PREFIX)[:8] if name.startswith(ASSET_PREFIX) else name[:8]


def import_entries(spec: FunctionSpec) -> list[str]:
    """``module:function`` of the function's handler, then each processing step it names."""
    module, _, function = spec.handler.rpartition(".")
    steps = spec.environment.get(contract.ENV_PROCESSING_STEPS, "")
    return [f"{module}:{function}", *(entry.strip() for entry in steps.split(",") if entry.strip())]


def import_problem(spec: FunctionSpec, code_directory: str, beneath: Sequence[str] = ()) -> str | None:
    """Why ``spec``'s handler or steps do not import from ``code_directory`` (over ``beneath``),
    in one line, or None.

    The function's environment is given to the check (a module may read it when imported);
    nothing is called but the imports."""
    environment = {**IMPORT_CHECK_ENVIRONMENT, **spec.environment}
    folders = [os.path.abspath(folder) for folder in (code_directory, *beneath)]
    # The code's folders and the runtime's packages only; the bytecode goes where the sandboxes
    # keep theirs, so the new code's first sandbox finds it compiled.
    arguments = import_check_arguments(
        [*folders, runtime_packages_folder()], import_entries(spec), where="the new code",
        bytecode_cache=bytecode_cache(),
    )  # fmt: skip
    command = [sys.executable, "-I", "-S", *arguments]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, check=False,
            timeout=IMPORT_CHECK_TIMEOUT_SECONDS, cwd=folders[0], env=environment,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"importing {spec.name}'s code took over {IMPORT_CHECK_TIMEOUT_SECONDS} s"
    lines = result.stdout.strip().splitlines()
    if lines:
        return lines[-1]
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{spec.name}'s code cannot be checked: {last}"
    return None
