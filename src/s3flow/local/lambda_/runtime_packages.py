"""What Lambda's Python runtime puts on a function's import path besides its code: the AWS SDK
for Python and its dependencies.

The python3.13 runtime includes boto3 (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html,
"Runtime-included SDK versions") with botocore, s3transfer, jmespath, dateutil (python-dateutil),
six and urllib3, kept in the runtime's own folder, after the function's code on the search path
(https://docs.aws.amazon.com/lambda/latest/dg/python-package.html, "Dependency search path and
runtime-included libraries"). Locally they are this interpreter's copies, linked into one
folder that holds nothing else, so that a sandbox can see them without seeing the rest of the
emulator's environment.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import shutil
import tempfile
from pathlib import Path

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


@functools.cache
def runtime_packages_folder() -> str:
    """A folder of links to ``RUNTIME_PROVIDED`` as installed here; made once per process and
    removed when it exits."""
    folder = Path(tempfile.mkdtemp(prefix="s3flow-lambda-runtime-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name}, which Lambda's Python runtime provides, is not installed")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return str(folder)
