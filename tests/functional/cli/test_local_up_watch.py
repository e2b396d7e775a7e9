"""``local up --watch`` on the local pipeline: a team's step is edited while an upload is being
processed; that upload finishes on the old code, the next one is handled by the new code, and
each object's flow line names the code version that handled it.

The cloud assembly is the session's synthesized one, with the processor given an asset of its
own that holds a step package at its root and the step named in its environment, as synth lays
out a team's steps (docs/extending.md, "Registering steps"). The watcher is the one ``local up
--watch`` runs (``CodeWatch``), made to look by ``check()`` rather than by its polling thread,
so each step of the test happens when the test says.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from s3flow import contract
from s3flow.cli.local_up import flow_printer
from s3flow.cli.watch import CodeWatch
from s3flow.local import LocalPipeline
from s3flow.local.credentials import emulator_client
from s3flow.local.pipeline import FlowEvent, FlowKind

STACK = "TapStackdev"
STEP = """
import os
import time

CODE = {code!r}
GATE = {gate!r}


def tag(obj):
    if obj.key.startswith("held/"):  # held until the test opens the gate
        open(GATE + ".started", "w").close()
        while not os.path.exists(GATE):
            time.sleep(0.01)
    return {{"code": CODE}}
"""


def write_step(project: Path, code: str, gate: Path) -> None:
    (project / "my_steps" / "steps.py").write_text(STEP.format(code=code, gate=str(gate)), encoding="utf-8")


def give_processor_a_step(synthesized: Path, out: Path, project: Path) -> None:
    """Copies the assembly into ``out``; the processor gets its own asset with ``my_steps``."""
    shutil.copytree(synthesized, out, symlinks=True)
    template_path = out / f"{STACK}.template.json"
    template = json.loads(template_path.read_text(encoding="utf-8"))
    processor = next(
        resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and "S3ObjectProcessor" in logical_id
    )
    old_hash = processor["Code"]["S3Key"].removesuffix(".zip")
    new_hash = "5" * 64
    asset = out / f"asset.{new_hash}"
    shutil.copytree(out / f"asset.{old_hash}", asset, symlinks=True)
    shutil.copytree(project / "my_steps", asset / "my_steps")
    processor["Code"]["S3Key"] = f"{new_hash}.zip"
    processor["Environment"]["Variables"][contract.ENV_PROCESSING_STEPS] = "my_steps.steps:tag"
    template_path.write_text(json.dumps(template), encoding="utf-8")
    manifest_path = out / f"{STACK}.assets.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entry = json.loads(json.dumps(manifest["files"][old_hash]))
    entry["source"]["path"] = asset.name
    for destination in entry["destinations"].values():
        destination["objectKey"] = f"{new_hash}.zip"
    manifest["files"][new_hash] = entry
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:g} s"
        time.sleep(0.02)
    return found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "my_steps").mkdir(parents=True)
    (root / "my_steps" / "__init__.py").write_text("", encoding="utf-8")
    (root / "cdk.json").write_text(json.dumps({"context": {"stepPackages": ["my_steps"]}}), encoding="utf-8")
    write_step(root, "one", tmp_path / "gate")
    return root


@pytest.fixture
def pipeline(
    synthesized: Path, project: Path, tmp_path: Path
) -> Iterator[tuple[LocalPipeline, list[FlowEvent]]]:
    out = tmp_path / "cdk.out"
    give_processor_a_step(synthesized, out, project)
    flows: list[FlowEvent] = []
    running = LocalPipeline(out, STACK, port=0, concurrency=2, on_flow=flows.append)
    running.start()
    try:
        yield running, flows
    finally:
        running.stop()


def test_a_saved_step_handles_the_next_upload_while_the_running_one_finishes_on_the_old_code(
    pipeline, project, tmp_path
):
    running, flows = pipeline
    runtime = running.runtime
    assert runtime is not None
    lines: list[str] = []
    watch = CodeWatch(
        runtime,
        cdk_out=running.cloud_assembly,
        stack=STACK,
        project=project,
        say=lines.append,
        synthesize=lambda: "no synth expected: only the step changes",
        package=tmp_path / "site-packages" / "s3flow",  # s3flow's own sources are not watched here
    )
    s3 = emulator_client("s3", endpoint_url=running.endpoint_url, region=running.region)
    bucket = running.deployment.outputs["S3BucketName"]

    def recorded(key: str) -> FlowEvent | None:
        return next((e for e in flows if e.kind is FlowKind.RECORDED and e.key == key), None)

    # GIVEN a warm processor sandbox on the first code, and an upload being processed by it
    s3.put_object(Bucket=bucket, Key="warm.txt", Body=b"a")
    first = wait_until(lambda: recorded("warm.txt"), "warm.txt recorded")
    s3.put_object(Bucket=bucket, Key="held/a.txt", Body=b"b")
    wait_until(lambda: Path(f"{tmp_path / 'gate'}.started").exists(), "held/a.txt in its step")

    # WHEN the step is saved with new code and the watcher looks
    write_step(project, "two", tmp_path / "gate")
    assert watch.check()

    # THEN the next upload is handled by the new code, named by its flow event
    [line] = lines
    processor = line.split(" ", 1)[0]
    new_version = str(runtime.code_version(processor))
    assert line.startswith(f"{processor} runs code {new_version} from its next invocation")
    s3.put_object(Bucket=bucket, Key="after.txt", Body=b"c")
    after = wait_until(lambda: recorded("after.txt"), "after.txt recorded")
    assert first.code_version is not None and first.code_version.startswith("v1 55555555")
    assert new_version.startswith("v2 ") and after.code_version == new_version
    # AND the upload that was being processed finishes on the code it started with
    (tmp_path / "gate").touch()
    held = wait_until(lambda: recorded("held/a.txt"), "held/a.txt recorded")
    assert held.code_version == first.code_version
    assert running.wait_idle(60)
    table = emulator_client("dynamodb", endpoint_url=running.endpoint_url, region=running.region)
    items = table.scan(TableName=running.deployment.outputs["DynamoDBTableName"])["Items"]
    codes = {item["objectKey"]["S"]: item["steps"]["M"]["tag"]["M"]["code"]["S"] for item in items}
    assert codes == {"warm.txt": "one", "held/a.txt": "one", "after.txt": "two"}
    # AND local up's line for each object names the code that handled it
    out = io.StringIO()
    printer = flow_printer(Console(file=out, width=300, color_system=None))
    printer(after)
    printer(held)
    shown = out.getvalue().splitlines()
    assert f"after.txt ({after.version_id}) code {new_version}" in shown[0]
    assert f"held/a.txt ({held.version_id}) code {first.code_version}" in shown[1]
