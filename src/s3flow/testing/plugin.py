"""The s3flow pytest plugin (entry point ``pytest11``): fixtures for a team's processing steps.

Installed with the package, so any pytest run with s3flow installed has them:

- ``run_step(step, data, key="object", **options)``: runs one step (a callable or a
  ``module:function`` entry) on bytes or a file as the processor runs it, with no AWS, no
  network and no emulator (``s3flow.testing.steps.run_step``); returns the fields as
  stored, raises what the step raised or ``StepOutputError``.
- ``s3flow_pipeline``: the whole local pipeline of the team's synthesized stack
  (``--s3flow-cdk-out`` / ini ``s3flow_cdk_out``, default ``cdk.out``; ``--s3flow-stack``
  / ini ``s3flow_stack``, default ``TapStackdev``), one per test module, each test seeing
  its own uploads (``s3flow.testing.pipeline.PipelineTest``). Override the
  ``s3flow_cloud_assembly`` fixture to synthesize elsewhere, ``s3flow_pipeline_options``
  to pass more ``LocalPipeline`` arguments.

Importing this module costs nothing but pytest: the emulator and boto3 are imported when
the pipeline fixture is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from s3flow.local.pipeline import FlowEvent, LocalPipeline
    from s3flow.testing.pipeline import PipelineTest

DEFAULT_CDK_OUT = "cdk.out"
DEFAULT_STACK = "TapStackdev"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("s3flow", "s3flow local pipeline")
    group.addoption(
        "--s3flow-cdk-out",
        dest="s3flow_cdk_out",
        default=None,
        help=f"the synthesized cloud assembly the s3flow_pipeline fixture runs (default {DEFAULT_CDK_OUT})",
    )
    group.addoption(
        "--s3flow-stack",
        dest="s3flow_stack",
        default=None,
        help=f"the stack of the cloud assembly to run (default {DEFAULT_STACK})",
    )
    parser.addini(
        "s3flow_cdk_out", "the cloud assembly of the s3flow_pipeline fixture", default=DEFAULT_CDK_OUT
    )
    parser.addini("s3flow_stack", "the stack of the s3flow_pipeline fixture", default=DEFAULT_STACK)


def _setting(config: pytest.Config, name: str) -> str:
    return str(config.getoption(name) or config.getini(name))


@pytest.fixture
def run_step() -> Callable[..., dict[str, Any]]:
    """``run_step(step, data, key="object", *, bucket=..., version_id=..., name=None)``."""
    from s3flow.testing.steps import run_step as run

    return run


@pytest.fixture(scope="module")
def s3flow_stack_name(pytestconfig: pytest.Config) -> str:
    return _setting(pytestconfig, "s3flow_stack")


@pytest.fixture(scope="module")
def s3flow_cloud_assembly(pytestconfig: pytest.Config) -> Path:
    """The folder ``cdk synth`` wrote (relative paths from pytest's root directory)."""
    return pytestconfig.rootpath / _setting(pytestconfig, "s3flow_cdk_out")


@pytest.fixture(scope="module")
def s3flow_pipeline_options() -> dict[str, Any]:
    """More ``LocalPipeline`` arguments for the module's pipeline (override in a test module),
    e.g. ``environment_overrides`` with ``AWS_MAX_ATTEMPTS`` to make injected faults exhaust
    the functions' client retries sooner."""
    return {}


@pytest.fixture(scope="module")
def s3flow_running(
    s3flow_cloud_assembly: Path, s3flow_stack_name: str, s3flow_pipeline_options: dict[str, Any]
) -> Iterator[tuple[LocalPipeline, list[FlowEvent]]]:
    """The module's pipeline and everything it reported; started once, stopped after the module."""
    template = Path(s3flow_cloud_assembly) / f"{s3flow_stack_name}.template.json"
    if not template.is_file():
        pytest.fail(
            f"s3flow_pipeline: no {template}: synthesize the app first (cdk synth, or python app.py), "
            "or point --s3flow-cdk-out at its cloud assembly",
            pytrace=False,
        )
    from s3flow.testing.pipeline import start

    flows: list[FlowEvent] = []
    pipeline = start(Path(s3flow_cloud_assembly), s3flow_stack_name, flows, **s3flow_pipeline_options)
    try:
        yield pipeline, flows
    finally:
        pipeline.stop()


@pytest.fixture
def s3flow_pipeline(s3flow_running: tuple[LocalPipeline, list[FlowEvent]]) -> Iterator[PipelineTest]:
    """This test's view of the module's pipeline: ``upload``, ``wait``, ``records``, ``events``,
    ``failures``, ``flows``, ``inject``. It shows only this test's uploads; faults it injects
    are cleared at its end. The bucket and table are shared with the module's other tests."""
    from s3flow.testing.pipeline import PipelineTest

    pipeline, flows = s3flow_running
    test = PipelineTest(pipeline, flows)
    try:
        yield test
    finally:
        test.finish()
