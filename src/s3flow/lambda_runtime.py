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
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


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
