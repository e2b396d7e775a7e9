"""Where a function's code is in the cloud assembly: the folder the local runtime imports it from.

The CDK publishes a function's code as a file asset: the template's ``Code`` names the S3 key it
is uploaded to, and ``<stack>.assets.json`` (written by ``python app.py`` and by the CDK CLI
alike) maps that key to the asset's folder in the assembly, ``asset.<hash>/``. That folder is
what the zip on AWS holds, so it is what the function runs from locally.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from s3flow.local.cloudformation.errors import TemplateError


def asset_folder(
    cloud_assembly: Path | None, stack_name: str, function: str, code: Mapping[str, Any]
) -> str | None:
    """The asset folder holding ``code`` (the function's resolved ``Code``), or None for a template
    that did not come with an assets manifest (one written by hand and provisioned without the
    CDK: there is no asset to run from, and the function runs from the emulator's own path).

    A manifest that does not hold the function's S3 key is an error: that code would not be
    uploaded, and the function could not be created."""
    if cloud_assembly is None:
        return None
    manifest_path = Path(cloud_assembly) / f"{stack_name}.assets.json"
    if not manifest_path.is_file():
        return None
    key = code.get("S3Key")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest.get("files", {}).values():
        destinations = entry.get("destinations", {}).values()
        if key is not None and any(destination.get("objectKey") == key for destination in destinations):
            folder = Path(cloud_assembly) / entry["source"]["path"]
            if not folder.is_dir():
                raise TemplateError(f"{function}: the asset folder {folder} for Code S3Key {key} is missing")
            return str(folder.resolve())
    raise TemplateError(f"{function}: Code {dict(code)} is no file asset of {manifest_path.name}")
