"""Without settings the stack is the reference design's, resource for resource.

``default_template.json`` is the template synthesized before the stack took settings, with
asset hashes replaced (they change with any edit of the functions' code). Every logical id,
type, property, policy and output of today's default synthesis (the session template) must
equal it. A change to the default template that is meant goes with a new snapshot:

    .venv/bin/python tests/unit/infra/test_default_template.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

SNAPSHOT = Path(__file__).with_name("default_template.json")
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
UPDATE = (
    "if the default template is meant to change: .venv/bin/python tests/unit/infra/test_default_template.py"
)


def normalized(template: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(_ASSET_HASH.sub("<asset hash>", json.dumps(template)))
    return result


def test_the_default_template_equals_the_snapshot_resource_for_resource(template: Template) -> None:
    expected, actual = json.loads(SNAPSHOT.read_text()), normalized(template.to_json())

    assert sorted(actual["Resources"]) == sorted(expected["Resources"]), UPDATE
    differing = [
        logical_id
        for logical_id, resource in expected["Resources"].items()
        if actual["Resources"][logical_id] != resource
    ]
    assert differing == [], UPDATE
    assert actual["Outputs"] == expected["Outputs"], UPDATE
    assert actual == expected, UPDATE  # parameters and rules too


def _write_snapshot() -> None:
    import tempfile

    from s3flow.infra.app import create_app

    with tempfile.TemporaryDirectory() as outdir:
        app, stack = create_app(outdir=outdir)
        app.synth()
        template = Template.from_stack(stack).to_json()
    SNAPSHOT.write_text(json.dumps(normalized(template), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT}", file=sys.stderr)


if __name__ == "__main__":
    _write_snapshot()
