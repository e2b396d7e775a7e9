"""Where the project, its synthesized assembly and the reference handler live."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CLOUD_ASSEMBLY = PROJECT_ROOT / "cdk.out"
STACK_NAME = "TapStackdev"
PERFORMANCE_DOC = PROJECT_ROOT / "docs" / "performance.md"
# CI and other machines lay shared/ beside the clone; the reference is loaded from there, never copied.
REFERENCE_HANDLER = PROJECT_ROOT.parent / "shared" / "reference" / "reference_handler.py"
OUR_HANDLER_MODULE = "s3flow.functions.processor.handler"
OUR_PUBLISHER_MODULE = "s3flow.functions.publisher.handler"


class BenchSetupError(RuntimeError):
    """Something the benchmark needs is missing; the message says what and how to get it."""


def reference_handler() -> Path:
    if not REFERENCE_HANDLER.is_file():
        raise BenchSetupError(
            f"reference handler not found at {REFERENCE_HANDLER}: lay the shared/ folder beside the "
            "clone (shared/reference/reference_handler.py) to compare against it"
        )
    return REFERENCE_HANDLER


def processor_template() -> Path:
    template = CLOUD_ASSEMBLY / f"{STACK_NAME}.template.json"
    if not template.is_file():
        raise BenchSetupError(f"{template} not found: run `make synth` (or `python app.py`) first")
    return template
