"""A processing step that is broken for some objects until its fix is deployed, registered
in the processor's sandboxes by their start hook (only the standard library here: this
module is imported inside each sandbox, before the handler)."""

from __future__ import annotations

import os
from typing import Any

# The processor's environment says the step is broken while this is "1"; clearing the
# override is deploying the fix.
BROKEN = "S3FLOW_TEST_FRAGILE_STEP_BROKEN"
STEP_NAME = "fragile"


def register_fragile_step(marker: str) -> None:
    """Start hook: registers ``fragile``, which fails for keys containing ``marker`` while broken."""
    from s3flow.functions.processor.steps.registry import register_step

    def fragile(obj: Any) -> dict[str, Any]:
        if marker in obj.key and os.environ.get(BROKEN) == "1":
            raise RuntimeError(f"fragile cannot read {obj.key} yet")
        return {"fixed": True}

    register_step(fragile, name=STEP_NAME)
