"""What a user waits for on this machine: `s3flow local up` until it serves, and `make run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import paths
from bench.report import Table
from bench.stats import median
from s3flow.cli.local_up import free_port

TEXT = (
    "`local up` is timed from the command's spawn to its banner, which it prints once the template is "
    "provisioned, the functions' workers are started and the emulator answers; the cloud assembly is "
    "already synthesized (the goal: ready within 3 s). `make run` is timed after set-up (the virtual "
    "environment and node_modules in place): synthesis, then the checked demo."
)
READY_GOAL_SECONDS = 3.0
READY_TIMEOUT_SECONDS = 60.0
BANNER_START = "s3flow local "  # the banner's first line: `s3flow local STACK at URL (N workers)`


@dataclass(frozen=True)
class LocalTimings:
    ready_seconds: list[float]  # local up: spawn to banner, one per start
    stop_seconds: list[float]  # local up: Ctrl-C to exit
    make_run_seconds: list[float]  # make run after set-up, one per run; empty when not measured

    @property
    def ready_median(self) -> float:
        return median(self.ready_seconds)

    @property
    def goal_met(self) -> bool:
        return self.ready_median <= READY_GOAL_SECONDS


def _s3flow_command() -> list[str]:
    # The command a user runs: the console script installed beside this interpreter.
    return [str(Path(sys.executable).with_name("s3flow"))]


def local_up_once(cdk_out: Path = paths.CLOUD_ASSEMBLY, stack: str = paths.STACK_NAME) -> tuple[float, float]:
    """Starts `s3flow local up` on a free port; returns (seconds to its banner, seconds to stop)."""
    command = [*_s3flow_command(), "local", "up", "--port", str(free_port()),
               "--cdk-out", str(cdk_out), "--stack", stack]  # fmt: skip
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=paths.PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith(BANNER_START):
                ready = time.perf_counter() - started
                break
            if time.perf_counter() - started > READY_TIMEOUT_SECONDS:
                raise RuntimeError("local up printed no banner within a minute")
        else:
            raise RuntimeError(f"local up exited before serving: {''.join(lines[-3:]).strip()}")
        stopping = time.perf_counter()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        return ready, time.perf_counter() - stopping
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def make_run_once() -> float:
    started = time.perf_counter()
    done = subprocess.run(
        ["make", "run"], cwd=paths.PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"make run failed: {tail[0]}")
    return time.perf_counter() - started


def measure(repeats: int, make_runs: int) -> LocalTimings:
    """``repeats`` starts of local up (after one discarded start that warms the bytecode
    caches), then ``make_runs`` runs of make run."""
    local_up_once()
    starts = [local_up_once() for _ in range(repeats)]
    runs = [make_run_once() for _ in range(make_runs)]
    return LocalTimings([s for s, _ in starts], [s for _, s in starts], runs)


def table(timings: LocalTimings) -> Table:
    t = Table(
        "Local timings a user waits for (median; the assembly already synthesized)",
        ["what", "median", "runs", "range"],
    )
    rows = [
        ("`s3flow local up`: spawn to ready (banner)", timings.ready_seconds),
        ("`s3flow local up`: Ctrl-C to exit", timings.stop_seconds),
        ("`make run` after set-up (synth + checked demo)", timings.make_run_seconds),
    ]
    for label, values in rows:
        if values:
            t.add(
                label, f"{median(values):.2f} s", str(len(values)), f"{min(values):.2f}-{max(values):.2f} s"
            )
    return t


def summary(timings: LocalTimings) -> str:
    verdict = "met" if timings.goal_met else "not met"
    text = (
        f"`s3flow local up` ready {timings.ready_median:.2f} s after it is started (median of "
        f"{len(timings.ready_seconds)}, assembly synthesized); goal at most {READY_GOAL_SECONDS:.0f} s: "
        f"**{verdict}**."
    )
    if timings.make_run_seconds:
        text += f" `make run` after set-up: {median(timings.make_run_seconds):.1f} s."
    return text
