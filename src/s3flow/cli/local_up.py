"""``local up``: check the cloud assembly and the port, synthesize on request, run in the foreground."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from s3flow.cli import render
from s3flow.cli.errors import CliError
from s3flow.cli.target import CA_BUNDLE_ENV, DEFAULT_ENDPOINT_URL, DEFAULT_STACK, ENDPOINT_ENV

FLOW_STYLE = {
    "received": "cyan",
    "recorded": "green",
    "routed": "green",
    "retrying": "yellow",
    "failed": "red",
    "published": "green",
    "publish_failed": "red",
    "alarm": "magenta",  # key: the alarm's name; detail: "OLD -> NEW: reason"
    "logged": "red",  # a function's warning or error, under its object; detail: the line
    "route_failed": "red",  # a rule's delivery was refused or failed; detail: rule, target, why
}


def template_path(cdk_out: Path, stack: str) -> Path:
    return cdk_out / f"{stack}.template.json"


def ensure_template(
    cdk_out: Path, stack: str, *, synth: bool, console: Console, context: Sequence[str] = ()
) -> None:
    """Synthesize when asked (or when ``synth`` is forced); otherwise say how, in one line."""
    if synth:
        synthesize(cdk_out, stack, console, context)
    if not template_path(cdk_out, stack).is_file():
        hint = (
            "synthesize it with `s3flow local up --synth` (runs python app.py)"
            if not synth
            else "check --stack"
        )
        raise CliError(f"no {stack}.template.json in {cdk_out}/: {hint}")


def synthesize(cdk_out: Path, stack: str, console: Console, context: Sequence[str] = ()) -> None:
    with render.step(console, f"synthesizing {stack} (python app.py)…"):
        error = synthesis_error(cdk_out, stack, context)
    if error is not None:
        raise CliError(error)
    console.print(f"synthesized {template_path(cdk_out, stack)}")


def synthesis_error(cdk_out: Path, stack: str, context: Sequence[str] = ()) -> str | None:
    """Runs ``python app.py`` for ``stack`` into ``cdk_out``, with each ``key=value`` of
    ``context`` as its ``-c`` (as ``npx cdk synth -c`` sets context); its error in one line, or None."""
    app_py = Path("app.py")
    if not app_py.is_file():
        return "cannot synthesize: no app.py in the current folder (run from the project root)"
    env = dict(os.environ)
    if stack.startswith("TapStack") and len(stack) > len("TapStack"):
        env["CDK_CONTEXT_JSON"] = json.dumps({"environmentSuffix": stack[len("TapStack") :]})
    if cdk_out.resolve() != Path("cdk.out").resolve():
        env["CDK_OUTDIR"] = str(cdk_out)
    result = subprocess.run(
        [sys.executable, str(app_py), *(f"--context={assignment}" for assignment in context)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        return f"synthesis failed: {last}"
    return None


def check_port_free(port: int, host: str = "127.0.0.1") -> None:
    """Refuses a port another process listens on; a port whose last connections linger in
    TIME_WAIT (a server stopped a moment ago) is free, as the server binds it with
    SO_REUSEADDR too."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise CliError(f"port {port} is in use: stop what holds it or pick another with --port") from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _without_zero_counts(detail: str) -> str:
    """``records 1, errors 0, bytes 35`` -> ``records 1, bytes 35``: the counts that happened."""
    parts = detail.split(", ")
    kept = [part for part in parts if not re.fullmatch(r"[\w ]+ 0", part)]
    return ", ".join(kept) if len(kept) < len(parts) else detail


def flow_printer(console: Console) -> Any:
    """An ``on_flow`` callback: one line per step of each object's journey."""
    lock = threading.Lock()

    def on_flow(event: Any) -> None:
        kind = str(getattr(event, "kind", "?"))
        version = getattr(event, "version_id", None)
        detail = _without_zero_counts(str(getattr(event, "detail", "") or ""))
        style = FLOW_STYLE.get(kind, "white")
        line = f"{datetime.now().astimezone():%H:%M:%S} [{style}]{kind:<14}[/] {getattr(event, 'key', '')}"
        if version:
            line += f" [dim]({version})[/]"
        code = getattr(event, "code_version", None)
        if code:  # the function's code that handled it (it changes under `local up --watch`)
            line += f" [blue]code {escape(code)}[/]"
        if detail:  # the function's own words (and a stack trace): not Rich markup
            line += f"  {escape(detail)}"
        with lock:
            console.print(line, highlight=False, markup=True)

    return on_flow


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def unfinished_report(unfinished: Any, limit: int = 20, *, kept_in: Path | None = None) -> list[str]:
    """What a stop lost (after the line saying the state is gone), or with ``kept_in`` (the
    state folder) what resumes at the next start: one line that says so, then at most
    ``limit`` objects, one a line.

    ``unfinished`` is the pipeline's ``Unfinished``: uploads whose S3 event was accepted and
    whose processing had not finished, and records written but not yet published."""
    entries = [("not processed", obj) for obj in unfinished.objects]
    entries += [("not published", obj) for obj in unfinished.unpublished]
    if not entries:
        return []
    parts = []
    if unfinished.objects:
        parts.append(_plural(len(unfinished.objects), "upload", "uploads") + " not yet processed")
    if unfinished.unpublished:
        parts.append(_plural(len(unfinished.unpublished), "record", "records") + " not yet published")
    distinct = len({obj for _, obj in entries})  # a record written by a cut-short invocation is both
    were = _plural(distinct, "object was", "objects were")
    if kept_in is not None:
        resume = "it resumes" if distinct == 1 else "they resume"
        fate = f"kept: {resume} at the next `local up --state {kept_in}`"
        lines = [f"{were} in flight and {'is' if distinct == 1 else 'are'} {fate}: {', '.join(parts)}"]
    else:
        lines = [f"{were} in flight and {'is' if distinct == 1 else 'are'} lost with it: {', '.join(parts)}"]
    for what, (bucket, key, version) in entries[:limit]:
        lines.append(f"  {what}  {bucket}/{key}" + (f" ({version})" if version else ""))
    if len(entries) > limit:
        lines.append(f"  … and {len(entries) - limit} more")
    return lines


def retry_delays(retry_delay: float | None) -> tuple[float, ...]:
    """Seconds before each async retry: one delay for every retry, or Lambda's own, about 1
    then 2 minutes (docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)."""
    from s3flow.local.lambda_.runtime import LAMBDA_RETRY_DELAYS

    return LAMBDA_RETRY_DELAYS if retry_delay is None else (float(retry_delay),)


def run_local_up(
    *,
    cdk_out: Path,
    stack: str,
    port: int,
    concurrency: int,
    synth: bool,
    console: Console,
    alarm_period: int | None = None,
    retry_delay: float | None = None,
    tls: bool = False,
    state: Path | None = None,
    watch: bool = False,
    context: Sequence[str] = (),
) -> None:
    if context and not (synth or watch):
        raise CliError("--context is given to python app.py: it needs --synth or --watch")
    ensure_template(cdk_out, stack, synth=synth, console=console, context=context)
    check_port_free(port)
    from s3flow.local import LocalPipeline

    pipeline = LocalPipeline(
        cdk_out,
        stack,
        port=port,
        concurrency=concurrency,
        on_flow=flow_printer(console),
        alarm_period=alarm_period,
        retry_delays=retry_delays(retry_delay),
        tls=tls,
        state=state,
    )
    with render.step(console, f"deploying {stack} from {cdk_out}/ onto the emulator…"):
        pipeline.start()
    for line in restored_report(state, pipeline.restored):
        console.print(line, markup=False, highlight=False)
    stopped = threading.Event()
    handlers = {sig: signal.signal(sig, lambda *_: stopped.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    watcher = None
    try:
        if watch and pipeline.runtime is not None:
            watcher = start_watch(pipeline.runtime, cdk_out, stack, console, context)
        console.print(banner(pipeline, stack, concurrency))
        if retry_delay is not None and pipeline.runtime is not None:
            console.print(retry_note(pipeline.runtime.retry_delays), highlight=False)
        while not stopped.wait(0.5):
            pass
    finally:
        if watcher is not None:
            watcher.close()
        try:
            with render.step(console, "stopping…"):
                pipeline.stop()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            if watcher is not None:
                watcher.remove()  # after the runtime: no sandbox runs the reloaded code any more
        if state is not None and pipeline.saved is not None:
            console.print(
                f"stopped; the state is saved in {state}: {pipeline.saved.describe()}", markup=False
            )
        else:
            console.print("stopped; the emulator's state is gone")
        for line in unfinished_report(pipeline.unfinished, kept_in=state):
            console.print(line, markup=False, highlight=False)


def restored_report(state: Path | None, restored: Any) -> list[str]:
    """What the start restored from the state folder, and what it had no place for."""
    if state is None:
        return []
    if restored.saved_at is None:
        return [f"state: {state} holds no state yet; it is saved there while running and at stop"]
    saved = datetime.fromtimestamp(restored.saved_at).astimezone()
    lines = [f"state: restored from {state} (saved {saved:%Y-%m-%d %H:%M:%S}): {restored.summary.describe()}"]
    lines += [
        f"state: not restored (this stack has no place for it): {what}" for what in restored.not_restored
    ]
    return lines


def start_watch(
    runtime: Any, cdk_out: Path, stack: str, console: Console, context: Sequence[str] = ()
) -> Any:
    """``--watch``: reloads the functions' code as their sources change (``watch``), saying
    what it watches, then one line per reload."""
    from s3flow.cli.watch import CodeWatch

    lock = threading.Lock()

    def say(text: str) -> None:
        with lock:
            stamp = f"{datetime.now().astimezone():%H:%M:%S}"
            console.print(f"{stamp} [blue]{'reload':<14}[/] {escape(text)}", highlight=False)

    watcher = CodeWatch(
        runtime,
        cdk_out=cdk_out,
        stack=stack,
        project=Path.cwd(),
        say=say,
        synthesize=lambda: synthesis_error(cdk_out, stack, context),
    )
    watcher.start()
    packages = ", ".join(root.name for root in watcher.plan.code_roots) or "none"
    console.print(
        f"  watching: code ({packages}) reloads in place; app.py, cdk.json, requirements"
        " re-synthesize (a change beyond the functions' code needs a restart)",
        highlight=False,
        markup=False,
    )
    return watcher


def retry_note(delays: tuple[float, ...]) -> str:
    """The running runtime's async retry delays, when --retry-delay set them."""
    shown = ", then ".join(f"{delay:g} s" for delay in delays)
    return f"  async retries after {shown} (Lambda: about 60 s, then 120 s)"


def banner(pipeline: Any, stack: str, concurrency: int) -> str:
    from s3flow.local.state import AUTOSAVE_INTERVAL

    url = pipeline.endpoint_url
    ca = getattr(pipeline, "ca_bundle", None)  # set when serving HTTPS (--tls)
    outputs = getattr(pipeline.deployment, "outputs", {}) or {}
    bucket = outputs.get("S3BucketName", "?")
    # What a command in another shell needs to find this emulator: it keeps no state file.
    exports = [f"{ENDPOINT_ENV}={url}"] if url != DEFAULT_ENDPOINT_URL else []
    exports += [f"{CA_BUNDLE_ENV}={ca}"] if ca else []
    exports += [f"S3FLOW_STACK={stack}"] if stack != DEFAULT_STACK else []
    aws = f"aws --endpoint-url {url}" + (f" --ca-bundle {ca}" if ca else "")
    return "\n".join(
        [
            f"[bold]s3flow local[/] {stack} at [bold]{url}[/] ({concurrency} workers)",
            f"  bucket {bucket}  table {outputs.get('DynamoDBTableName', '?')}"
            f"  bus {outputs.get('EventBusName', '?')}",
            *([f"  TLS: the CA made for this run (removed at stop) is {ca}"] if ca else []),
            *(
                f"  bucket {name} is not the stack's own (an existing bucket): made here, empty, as a"
                " stand-in; on AWS it must exist before the deploy"
                for name in getattr(pipeline.deployment, "stand_in_buckets", ())
            ),
            f"  try:   s3flow put FILE   ·   {aws} s3 cp FILE s3://{bucket}/",
            *([f"  other commands need: export {' '.join(exports)}"] if exports else []),
            (
                f"  state is kept in {pipeline.state}: saved every {AUTOSAVE_INTERVAL:g} s and at stop"
                if getattr(pipeline, "state", None) is not None
                else "  state is kept in memory only: stopping the emulator discards it"
            ),
            "  stop with Ctrl-C",
        ]
    )
