"""The folder a local sandbox sees besides the function's asset: links to what Lambda's Python
runtime provides (``s3flow.lambda_runtime``), made once per process."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from s3flow.lambda_runtime import link_runtime_packages


@functools.cache
def runtime_packages_folder() -> str:
    """A folder of links to the runtime-provided packages as installed here; made once per
    process and removed when it exits."""
    folder = Path(tempfile.mkdtemp(prefix="s3flow-lambda-runtime-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return str(link_runtime_packages(folder))
