"""``local up --watch`` without a pipeline: what it watches, how it sees a change, the asset it
lays a changed package over, which template changes need a restart, and what each change does
to a (not started) local runtime's functions.

Each test makes a small project (cdk.json naming a step package) and a cloud assembly as the
CDK writes one (template, assets manifest, ``asset.<hash>`` folders). File times are set with
``os.utime``, so a change is seen whatever the file system's clock resolution.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from s3flow import contract
from s3flow.cli.watch import CodeWatch, FileWatcher, overlay, template_changes, watch_plan
from s3flow.local.deployment import Deployment, FunctionSpec
from s3flow.local.lambda_.runtime import LambdaRuntime

STACK = "TapStacktest"
BASE_HASH = "1" * 64
PROCESSOR = "ProcessorFn"
STEP = "def tag(obj):\n    return {{'code': {code!r}}}\n"


def touch(path: Path, text: str, tick: int) -> None:
    """Writes ``path`` and gives it a modification time of its own (``tick`` seconds in)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(1_700_000_000_000_000_000 + tick * 10**9,) * 2)


def template(
    step_env: str = "my_steps.steps:tag", code_key: str = BASE_HASH, extra: bool = False
) -> dict[str, Any]:
    resources: dict[str, Any] = {
        PROCESSOR: {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "processor",
                "Handler": "handler_module.handler",
                "Code": {"S3Bucket": "cdk-assets", "S3Key": f"{code_key}.zip"},
                "Environment": {"Variables": {contract.ENV_PROCESSING_STEPS: step_env}},
            },
            "Metadata": {"aws:asset:path": f"asset.{code_key}"},
        },
        "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": code_key}},
    }
    if extra:
        resources["Queue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    return {"Resources": resources}


def write_assembly(cdk_out: Path, project: Path, body: dict[str, Any], code_key: str = BASE_HASH) -> Path:
    """A cloud assembly whose processor asset holds the handler and the project's step package."""
    asset = cdk_out / f"asset.{code_key}"
    (asset / "my_steps").mkdir(parents=True, exist_ok=True)
    (asset / "handler_module.py").write_text("def handler(event, context):\n    return 1\n", encoding="utf-8")
    for source in (project / "my_steps").iterdir():
        if source.is_file():
            (asset / "my_steps" / source.name).write_text(
                source.read_text(encoding="utf-8"), encoding="utf-8"
            )
    (cdk_out / f"{STACK}.template.json").write_text(json.dumps(body), encoding="utf-8")
    manifest = {
        "files": {
            code_key: {
                "source": {"path": asset.name, "packaging": "zip"},
                "destinations": {"current": {"bucketName": "cdk-assets", "objectKey": f"{code_key}.zip"}},
            }
        }
    }
    (cdk_out / f"{STACK}.assets.json").write_text(json.dumps(manifest), encoding="utf-8")
    return asset


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    touch(root / "cdk.json", json.dumps({"context": {"stepPackages": ["my_steps"]}}), 0)
    touch(root / "app.py", "print('app')\n", 0)
    touch(root / "my_steps" / "__init__.py", "", 0)
    touch(root / "my_steps" / "steps.py", STEP.format(code="one"), 0)
    return root


@pytest.fixture
def cdk_out(tmp_path: Path, project: Path) -> Path:
    out = tmp_path / "cdk.out"
    write_assembly(out, project, template())
    return out


@pytest.fixture
def runtime(cdk_out: Path) -> Any:
    spec = FunctionSpec(
        logical_id=PROCESSOR,
        name="processor",
        arn="arn:aws:lambda:us-east-1:123456789012:function:processor",
        handler="handler_module.handler",
        runtime="python3.13",
        timeout_seconds=30,
        memory_mb=256,
        environment={contract.ENV_PROCESSING_STEPS: "my_steps.steps:tag"},
        tracing_active=False,
        code_directory=str((cdk_out / f"asset.{BASE_HASH}").resolve()),
    )
    deployment = Deployment(stack_name=STACK, region="us-east-1", account="123456789012")
    deployment.functions = {spec.name: spec}
    runtime = LambdaRuntime(deployment, endpoint_url="http://127.0.0.1:9")  # never started
    yield runtime
    runtime.stop()


class Watch:
    """A CodeWatch on the runtime, its lines kept, its synth a function the test sets."""

    def __init__(self, runtime: Any, cdk_out: Path, project: Path) -> None:
        self.lines: list[str] = []
        self.synth_result: str | None = None
        self.synth_calls = 0
        self.watch = CodeWatch(
            runtime,
            cdk_out=cdk_out,
            stack=STACK,
            project=project,
            say=self.lines.append,
            synthesize=self._synthesize,
            package=project.parent / "site-packages" / "s3flow",  # an installed s3flow: not watched
        )

    def _synthesize(self) -> str | None:
        self.synth_calls += 1
        return self.synth_result


# -- what is watched, and how a change is seen -----------------------------------------


def test_the_plan_watches_the_step_packages_the_settings_name_and_the_files_that_make_the_stack(project):
    touch(project / "cdk.json", json.dumps({"context": {"stepPackages": "my_steps, one.py"}}), 1)

    plan = watch_plan(project, package=project / "src" / "s3flow")

    assert [root.name for root in plan.code_roots] == ["my_steps", "one.py", "s3flow"]
    assert project.resolve() / "app.py" in plan.stack_paths
    assert project.resolve() / "cdk.json" in plan.stack_paths
    assert project.resolve() / "src" / "s3flow" / "infra" in plan.stack_paths
    assert plan.is_code(project.resolve() / "my_steps" / "steps.py")
    assert plan.is_code(project.resolve() / "src" / "s3flow" / "functions" / "processor" / "handler.py")
    assert not plan.is_code(project.resolve() / "app.py")


def test_the_plan_watches_the_step_sources_the_last_synth_read_wherever_the_app_named_them(project, tmp_path):
    # GIVEN an app that names its steps in its own code (cdk.json names none) and its last synth
    elsewhere = tmp_path / "team" / "their_steps"
    touch(elsewhere / "__init__.py", "", 1)
    cdk_out = tmp_path / "assembly"
    requirements = str(tmp_path / "team" / "req.txt")
    metadata = {"type": contract.STEP_SOURCES_METADATA,
                "data": {"packages": [str(elsewhere)], "requirements": requirements}}  # fmt: skip
    manifest = {"artifacts": {"TapStackdev": {"additionalMetadataFile": "TapStackdev.metadata.json"}}}
    touch(cdk_out / "manifest.json", json.dumps(manifest), 1)
    touch(cdk_out / "TapStackdev.metadata.json", json.dumps({"/TapStackdev/Processing": [metadata]}), 1)

    plan = watch_plan(project, tmp_path / "site-packages" / "s3flow", cdk_out, "TapStackdev")

    # THEN what the synth put in the asset is watched as code, its requirements as the stack
    assert [root.name for root in plan.code_roots] == ["my_steps", "their_steps"]
    assert plan.is_code(elsewhere.resolve() / "__init__.py")
    assert tmp_path / "team" / "req.txt" in plan.stack_paths
    assert watch_plan(project, tmp_path / "site-packages" / "s3flow", cdk_out, "OtherStack").code_roots == (
        plan.code_roots[0],
    )


def test_s3flow_installed_outside_the_project_is_not_watched(project, tmp_path):
    plan = watch_plan(project, package=tmp_path / "site-packages" / "s3flow")

    assert [root.name for root in plan.code_roots] == ["my_steps"]


def test_s3flow_installed_in_the_projects_own_venv_is_not_watched(project):
    installed = project / ".venv" / "lib" / "python3.11" / "site-packages" / "s3flow"

    plan = watch_plan(project, package=installed)

    assert [root.name for root in plan.code_roots] == ["my_steps"]
    assert installed.resolve() / "infra" not in plan.stack_paths


def test_the_watcher_sees_a_file_rewritten_added_or_removed_and_ignores_bytecode(project):
    steps = project / "my_steps"
    watcher = FileWatcher([steps, project / "app.py"])
    assert watcher.changes() == set()

    touch(steps / "steps.py", STEP.format(code="two"), 1)
    touch(steps / "new.py", "", 1)
    touch(steps / "__pycache__" / "steps.cpython-311.pyc", "x", 1)
    (steps / "__init__.py").unlink()

    assert watcher.changes() == {steps / "steps.py", steps / "new.py", steps / "__init__.py"}
    assert watcher.changes() == set()


# -- the asset a change makes, and the template changes that need a restart -----------


def test_an_overlay_holds_only_the_packages_that_differ_named_by_their_content(project, cdk_out, tmp_path):
    base = cdk_out / f"asset.{BASE_HASH}"
    roots = watch_plan(project, package=tmp_path / "site-packages" / "s3flow").code_roots
    hot = tmp_path / "hot"

    assert overlay(base, roots, hot) == (None, [])  # as synthesized: nothing to lay over

    touch(project / "my_steps" / "steps.py", STEP.format(code="two"), 1)
    folder, differing = overlay(base, roots, hot)
    assert folder is not None and differing == ["my_steps"]
    assert sorted(path.name for path in folder.iterdir()) == ["my_steps"]
    assert "'two'" in (folder / "my_steps" / "steps.py").read_text(encoding="utf-8")
    assert overlay(base, roots, hot)[0] == folder  # the same sources, the same folder

    touch(project / "my_steps" / "steps.py", STEP.format(code="one"), 2)
    assert overlay(base, roots, hot) == (None, [])  # back to what was synthesized


def test_a_template_that_differs_in_the_functions_code_alone_needs_no_restart():
    assert template_changes(template(), template(code_key="2" * 64)) == []
    assert template_changes(template(), template(step_env="other:step")) == [PROCESSOR]
    assert template_changes(template(), template(extra=True)) == ["+Queue"]
    assert template_changes(template(), {**template(), "Outputs": {"A": {"Value": "b"}}}) == ["Outputs"]


# -- what each change does to the running functions -------------------------------------


def test_a_saved_step_reloads_the_function_over_its_asset_and_the_next_sandbox_runs_it(
    runtime, cdk_out, project
):
    watch = Watch(runtime, cdk_out, project)
    base = runtime.resolve("processor").code_directory

    touch(project / "my_steps" / "steps.py", STEP.format(code="two"), 1)
    assert watch.watch.check()

    spec = runtime.resolve("processor")
    assert spec.code_beneath == (base,)
    assert "'two'" in (Path(spec.code_directory) / "my_steps" / "steps.py").read_text(encoding="utf-8")
    assert str(runtime.code_version("processor")).startswith("v2 ")
    assert watch.synth_calls == 0
    [line] = watch.lines
    assert line.startswith(
        f"processor runs code {runtime.code_version('processor')} from its next invocation"
    )
    assert line.endswith("running ones finish on v1 11111111")
    assert not watch.watch.check()  # nothing more changed


def test_a_step_that_does_not_import_is_refused_and_the_running_code_stays(runtime, cdk_out, project):
    watch = Watch(runtime, cdk_out, project)
    before = runtime.resolve("processor")

    touch(project / "my_steps" / "steps.py", "def tag(obj)\n", 1)
    watch.watch.check()

    assert runtime.resolve("processor") == before
    [line] = watch.lines
    assert line.startswith("processor not reloaded, it keeps running code v1 11111111: ")
    assert "my_steps.steps:tag cannot be imported from the new code: SyntaxError" in line


def test_a_failed_synth_keeps_the_running_code_and_says_why_in_one_line(runtime, cdk_out, project):
    watch = Watch(runtime, cdk_out, project)
    before = runtime.resolve("processor")
    watch.synth_result = "synthesis failed: error: bad setting"

    touch(project / "app.py", "broken(\n", 1)
    watch.watch.check()

    assert watch.synth_calls == 1
    assert runtime.resolve("processor") == before
    assert watch.lines[-1] == "not reloaded, the running code stays: synthesis failed: error: bad setting"


def test_a_stack_change_beyond_the_code_says_to_restart_and_changes_nothing(runtime, cdk_out, project):
    watch = Watch(runtime, cdk_out, project)
    before = runtime.resolve("processor")

    touch(project / "app.py", "print('a queue more')\n", 1)
    write_assembly(cdk_out, project, template(extra=True))  # what the synth writes
    watch.watch.check()

    assert runtime.resolve("processor") == before
    assert watch.lines[-1].startswith("the stack changed beyond the functions' code (+Queue): restart")


def test_a_synth_that_changed_only_the_code_runs_the_new_asset(runtime, cdk_out, project):
    watch = Watch(runtime, cdk_out, project)
    new_key = "2" * 64

    touch(project / "my_steps" / "steps.py", STEP.format(code="three"), 1)
    touch(project / "app.py", "print('same stack')\n", 1)
    new_asset = write_assembly(cdk_out, project, template(code_key=new_key), code_key=new_key)
    watch.watch.check()

    spec = runtime.resolve("processor")
    assert spec.code_directory == str(new_asset.resolve()) and spec.code_beneath == ()
    assert str(runtime.code_version("processor")) == "v2 22222222"
    assert watch.watch.bases["processor"] == str(new_asset.resolve())


def test_local_up_prints_the_code_version_on_each_objects_line():
    from s3flow.cli.local_up import flow_printer
    from s3flow.local.pipeline import FlowEvent, FlowKind

    out = io.StringIO()
    printer = flow_printer(Console(file=out, width=200, color_system=None))

    printer(FlowEvent(FlowKind.RECORDED, "bkt", "a.txt", "v-1", "records 1", code_version="v2 1a2b3c4d"))

    assert "recorded       a.txt (v-1) code v2 1a2b3c4d  records 1" in out.getvalue()
