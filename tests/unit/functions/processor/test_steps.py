"""Processing steps load on first use: importing the handler imports none."""

from __future__ import annotations

import json
import subprocess
import sys

from s3flow import contract

PROBE = """
import json, sys
import s3flow.functions.processor.handler
print(json.dumps(sorted(m for m in sys.modules if m.startswith("s3flow.functions.processor.steps")
                        or m == "s3flow.functions.processor.steps.registry")))
"""


def test_importing_the_handler_does_not_import_the_steps(monkeypatch) -> None:
    checksum = "s3flow.functions.processor.steps.checksum:sha256"
    env = {"PATH": "/usr/bin:/bin", contract.ENV_PROCESSING_STEPS: checksum}
    command = [sys.executable, "-c", PROBE]
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)

    assert json.loads(result.stdout) == []
