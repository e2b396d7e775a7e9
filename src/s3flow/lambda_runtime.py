"""What Lambda's Python runtime puts on a function's import path besides its code: the AWS SDK
for Python and its dependencies.

The python3.13 runtime includes boto3 (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html,
"Runtime-included SDK versions") with botocore, s3transfer, jmespath, dateutil (python-dateutil),
six and urllib3, kept in the runtime's own folder, after the function's code on the search path
(https://docs.aws.amazon.com/lambda/latest/dg/python-package.html, "Dependency search path and
runtime-included libraries"). Off Lambda they are this interpreter's copies, linked into a
folder that holds nothing else, so that an interpreter can see them without the rest of this
environment: the local sandboxes (``s3flow.local``) and synth's check that each registered step
imports from the built asset (``s3flow.infra.bundling``) both use it. Imports nothing of ours.

Also what both of those, and ``local up --watch``, need to agree on: which files of the s3flow
package an asset holds (``ASSET_SOURCES``), and the isolated import of a function's handler and
steps from an asset that tells, in one line, the first that does not import
(``import_check_arguments``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
# The files of the s3flow package an asset holds (under s3flow/): what runs in Lambda, nothing
# of infra, local or cli.
ASSET_SOURCES = ("__init__.py", "contract.py", "functions")

# Lambda sets the region; a module that makes a client when imported needs it (no call is made).
IMPORT_CHECK_ENVIRONMENT = {"PATH": os.defpath, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
# Run as ``python -I -S -c IMPORT_CHECK PREFIX WHERE BYTECODE_CACHE IMPORT_PATH ENTRY...``: imports
# each ``module:attribute`` entry (a ``name=`` before it is ignored) and prints one line for the
# first that does not import or is not callable; nothing is called.
IMPORT_CHECK = """
import importlib, os, sys
prefix, where, cache, path = sys.argv[1:5]
if cache:
    sys.pycache_prefix = cache
sys.path[:0] = path.split(os.pathsep)
for entry in sys.argv[5:]:
    module_name, _, attribute = entry.rpartition("=")[2].partition(":")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except BaseException as error:
        first = str(error).splitlines()[0] if str(error) else ""
        why = f"{type(error).__name__}: {first}".rstrip(": ")
        print(f"{prefix}{entry} cannot be imported from {where}: {why}")
        break
    if not callable(target):
        print(f"{prefix}{entry} is not callable in {where}: it is a {type(target).__name__}")
        break
"""


def import_check_arguments(
    import_path: Sequence[str | Path],
    entries: Sequence[str],
    *,
    where: str,
    prefix: str = "",
    bytecode_cache: str = "",
) -> list[str]:
    """The interpreter arguments (after ``-I -S``) that import ``entries`` from ``import_path``
    and print, for the first that fails, ``{prefix}{entry} cannot be imported from {where}: …``."""
    path = os.pathsep.join(str(folder) for folder in import_path)
    return ["-c", IMPORT_CHECK, prefix, where, bytecode_cache, path, *entries]


def link_runtime_packages(folder: Path) -> Path:
    """Fill ``folder`` with links to ``RUNTIME_PROVIDED`` as installed here; returns it."""
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name}, which Lambda's Python runtime provides, is not installed")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return folder
