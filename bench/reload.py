"""3d. Hot reload: from saving a step to the next upload handled by the new code.

What ``s3flow local up --watch`` promises a team editing its processing steps. The app is
synthesized once, into a scratch folder, with one step (``bench_steps.steps:tag``) in a step
package of a scratch project; the local pipeline runs it with the watcher of ``local up
--watch`` (``s3flow.cli.watch.CodeWatch``, polling as it does). A warm-up fills the
processor's sandboxes with the first code (the case the watcher exists for: warm sandboxes
that would keep it). Then each edit rewrites the step's file, and from that save on the
benchmark uploads one object at a time, each waited for until the processor recorded it, until
one is handled by the new code (its flow event's code version). Per edit:

- *save to reload*: from the save to the watcher's line saying the function runs the new code
  (the watcher's poll and settle, the overlay, the import check);
- *new code's upload*: from the upload that ran the new code to its ``recorded`` flow event
  (a new sandbox's cold start included);
- *save to next upload on the new code*: the two together with the uploads made in between, on
  the old code: what the user waits for.

Every upload made after the reload line must run the new code: any that ran the old one is
counted (the complaint behind the watcher was one upload in eight on new code after an edit).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import paths
from bench.report import Table, ms
from bench.stats import median, percentile
from s3flow.cli.local_up import free_port

DEFAULT_EDITS = 10
CONCURRENCY = 4
WARMUP_OBJECTS = 8
GOAL_MS = 1000.0  # save -> next upload on the new code, median
RECORD_TIMEOUT_S = 60.0
STEP = "CODE = {code!r}\n\n\ndef tag(obj):\n    return {{'code': CODE}}\n"
HEADING = "3d. Hot reload: from a saved step to the next upload on the new code"


@dataclass
class Edit:
    save_to_reload_ms: float
    new_upload_ms: float
    total_ms: float
    old_uploads: int  # uploads made between the save and the reload line (old code, as they should)


@dataclass
class Result:
    edits: list[Edit] = field(default_factory=list)
    late_old: int = 0  # uploads made after the reload line that still ran the old code
    after_reload: int = 0  # uploads made after a reload line
    failures: list[str] = field(default_factory=list)


class _Recorded:
    """The processor's ``recorded`` events by key, and the watcher's reload lines, as they come."""

    def __init__(self) -> None:
        self.versions: dict[str, str | None] = {}
        self.reloads: list[tuple[float, str]] = []
        self._cond = threading.Condition()

    def on_flow(self, event: Any) -> None:
        if str(event.kind) == "recorded":
            with self._cond:
                self.versions[event.key] = event.code_version
                self._cond.notify_all()

    def say(self, line: str) -> None:
        with self._cond:
            self.reloads.append((time.perf_counter(), line))
            self._cond.notify_all()

    def wait(self, key: str) -> str | None:
        deadline = time.monotonic() + RECORD_TIMEOUT_S
        with self._cond:
            while key not in self.versions:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{key} was not recorded within {RECORD_TIMEOUT_S:g} s")
                self._cond.wait(left)
            return self.versions[key]


def _synthesize(project: Path, cdk_out: Path) -> None:
    """The app with the scratch project's step, into ``cdk_out``; cdk.json's settings ignored."""
    steps = project / "bench_steps"
    command = [
        sys.executable, "app.py",
        "-c", "processingSteps=bench_steps.steps:tag", "-c", f"stepPackages={steps}",
    ]  # fmt: skip
    env = {**os.environ, "CDK_OUTDIR": str(cdk_out), "S3FLOW_IGNORE_PROJECT_CONTEXT": "1"}
    subprocess.run(command, cwd=paths.PROJECT_ROOT, env=env, check=True, capture_output=True)


def _write_step(project: Path, code: str) -> None:
    (project / "bench_steps" / "steps.py").write_text(STEP.format(code=code), encoding="utf-8")


def measure(edits: int, scratch: Path, concurrency: int = CONCURRENCY) -> Result:
    from s3flow.cli.watch import CodeWatch
    from s3flow.local import LocalPipeline
    from s3flow.local.credentials import emulator_client

    project, cdk_out = scratch / "project", scratch / "cdk.out"
    (project / "bench_steps").mkdir(parents=True)
    (project / "bench_steps" / "__init__.py").write_text("", encoding="utf-8")
    _write_step(project, "v0")
    (project / "cdk.json").write_text(
        json.dumps({"context": {"stepPackages": [str(project / "bench_steps")]}}), encoding="utf-8"
    )
    _synthesize(project, cdk_out)
    recorded = _Recorded()
    result = Result()
    pipeline = LocalPipeline(
        cdk_out, paths.STACK_NAME, port=free_port(), concurrency=concurrency, on_flow=recorded.on_flow
    )
    pipeline.start()
    watch = None
    try:
        runtime = pipeline.runtime
        assert runtime is not None
        processor = next(
            name for name, spec in runtime.deployment.functions.items() if "Processor" in spec.logical_id
        )
        watch = CodeWatch(
            runtime,
            cdk_out=cdk_out,
            stack=paths.STACK_NAME,
            project=project,
            say=recorded.say,
            synthesize=lambda: "the benchmark edits only the step: no synth expected",
        )
        watch.start()
        s3 = emulator_client("s3", endpoint_url=pipeline.endpoint_url, region=pipeline.region)
        bucket = pipeline.deployment.outputs["S3BucketName"]
        counter = iter(range(1_000_000))

        def upload() -> str | None:
            key = f"reload/{next(counter):06d}.txt"
            s3.put_object(Bucket=bucket, Key=key, Body=b"hello\n")
            return recorded.wait(key)

        # Warm sandboxes on the first code: uploads at once, so several sandboxes start.
        threads = [threading.Thread(target=upload) for _ in range(WARMUP_OBJECTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for number in range(1, edits + 1):
            old = str(runtime.code_version(processor))
            seen = len(recorded.reloads)
            saved = time.perf_counter()
            _write_step(project, f"v{number}")
            made_old = 0
            while True:
                started = time.perf_counter()
                version = upload()
                done = time.perf_counter()
                if version != old:
                    break
                made_old += 1
                reloaded = [at for at, line in recorded.reloads[seen:] if line.startswith(processor)]
                if reloaded and reloaded[0] < started:
                    result.late_old += 1  # made after the reload line, still on the old code
                if done - saved > RECORD_TIMEOUT_S:
                    raise TimeoutError(
                        f"edit {number}: no upload ran the new code within {RECORD_TIMEOUT_S:g} s"
                    )
            lines = [(at, line) for at, line in recorded.reloads[seen:] if line.startswith(processor)]
            if not lines or " runs code " not in lines[0][1]:
                result.failures.append(f"edit {number}: {lines[0][1] if lines else 'no reload line'}")
                continue
            reload_at = lines[0][0]
            result.edits.append(
                Edit(
                    save_to_reload_ms=(reload_at - saved) * 1000,
                    new_upload_ms=(done - started) * 1000,
                    total_ms=(done - saved) * 1000,
                    old_uploads=made_old,
                )
            )
            result.after_reload += 1  # the upload that ran the new code
            # A few more uploads on the new code: any on the old one is a warm sandbox kept.
            for _ in range(concurrency):
                result.after_reload += 1
                if upload() == old:
                    result.late_old += 1
    finally:
        if watch is not None:
            watch.close()
        pipeline.stop()
        if watch is not None:
            watch.remove()
    return result


def table(result: Result) -> Table:
    t = Table(
        f"Hot reload: {len(result.edits)} edits of a processing step under `local up --watch`, "
        f"{CONCURRENCY} processor sandboxes warm on the old code at each save",
        ["from", "to", "median", "p90", "max"],
    )
    rows = [
        (
            "save",
            "reload line (watcher: poll, overlay, import check)",
            [e.save_to_reload_ms for e in result.edits],
        ),
        (
            "upload on the new code",
            "its `recorded` event (cold start included)",
            [e.new_upload_ms for e in result.edits],
        ),
        ("save", "next upload on the new code recorded", [e.total_ms for e in result.edits]),
    ]
    for start, end, values in rows:
        if values:
            t.add(start, end, ms(median(values)), ms(percentile(values, 90)), ms(max(values)))
    return t


def text(result: Result, summary: list[str], command: str, when: str = "") -> list[str]:
    totals = [edit.total_ms for edit in result.edits]
    if not totals:
        summary.append(f"Hot reload: no edit measured ({'; '.join(result.failures) or 'none ran'}).")
        return ["No edit was measured: " + ("; ".join(result.failures) or "none ran") + "."]
    middle = median(totals)
    verdict = "met" if middle <= GOAL_MS else "not met"
    old_between = sum(edit.old_uploads for edit in result.edits)
    summary.append(
        f"Hot reload (`local up --watch`): a saved step handles the next upload {ms(middle)} after the save"
        f" (median of {len(totals)} edits; goal {ms(GOAL_MS)}: {verdict}); {result.late_old} of"
        f" {result.after_reload} uploads after a reload ran the old code."
    )
    measured = f"Measured by `{command}`" + (f" on {when}" if when else "") + "."
    return [
        f"{measured} The scratch app is synthesized once with one step in a step package of its own;"
        " the local pipeline runs it with the watcher of `local up --watch`, which lays the changed"
        " package over the synthesized asset and checks it imports before the runtime updates the"
        " function's code (no synth: CDK's takes 5 to 10 s here, section 4). Each edit rewrites the"
        " step's file; from the save on, one object at a time is uploaded and waited for until one is"
        " handled by the new code, named by its flow event's code version.",
        f"Median {ms(middle)} from the save to the next upload recorded on the new code (goal"
        f" {ms(GOAL_MS)}: {verdict}). {old_between} uploads in all were made between a save and its"
        f" reload and ran the old code, as they should; after each reload {CONCURRENCY} more uploads"
        f" were made: {result.late_old} of {result.after_reload} uploads after a reload ran the old code"
        " (every warm sandbox is retired once its invocation ends)."
        + (f" Failed edits: {'; '.join(result.failures)}." if result.failures else ""),
    ]


def section(result: Result, summary: list[str], command: str, when: str = "") -> tuple[str, Table, list[str]]:
    t = table(result)
    print()
    print(t.text())
    for failure in result.failures:
        print(f"  !! {failure}", file=sys.stderr)
    return HEADING, t, text(result, summary, command, when)


def alone(args: Any) -> int:
    """``python -m bench reload``: measures this section alone and puts it into the document."""
    from bench import document

    try:
        paths.processor_template()
    except paths.BenchSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    command = "python -m bench reload" + (f" --edits {args.edits}" if args.edits != DEFAULT_EDITS else "")

    def measured() -> Result:
        with tempfile.TemporaryDirectory(prefix="s3flow-bench-reload-") as scratch:
            return measure(args.edits, Path(scratch))

    output = None if args.no_write else args.output
    result = document.measure_alone(command, measured, section, output=output, after=("3b.", "3c."))
    return 0 if result.edits else 1
