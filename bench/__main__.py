"""``python -m bench``: measure ours against the reference, print the tables, write docs/performance.md."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import building_blocks, cold_start, cost, document, e2e, package, paths, warm
from bench.emulator import Emulator
from bench.report import Table, ms, x
from bench.sides import (
    MEMORY_MB,
    child_env,
    ours,
    ours_as_shipped,
    ours_unsampled,
    reference,
    reference_as_shipped,
)
from bench.stats import median, ratio

SECTIONS = ("cold", "warm", "e2e", "package", "cost")
CONCURRENCY = (1, 4, 16)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="few repeats, small bursts: a smoke run (< 2 min)"
    )
    parser.add_argument(
        "--objects", type=int, default=None, help="objects per end-to-end burst (default 1000)"
    )
    parser.add_argument("--repeats", type=int, default=None, help="cold starts per side (default 9; quick 3)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--output", type=Path, default=paths.PERFORMANCE_DOC, help="Markdown file to write")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    repeats = args.repeats or (3 if args.quick else 9)
    objects = args.objects or (150 if args.quick else 1000)
    wanted = set(args.only.split(","))
    run_started, clock = document.now(), time.perf_counter()
    try:
        paths.reference_handler()
        asset_dir = package.processor_asset_dir()
    except paths.BenchSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sections: list[tuple[str, Table, list[str]]] = []
    summary: list[str] = []
    stale = package.stale_asset_files(asset_dir)
    if stale:
        warning = (
            f"The processor asset in cdk.out is older than src/ ({len(stale)} file(s) differ, e.g. "
            f"{stale[0]}): the *as shipped* and package rows describe that older build; run `make bench` "
            "(which synthesizes first) for a consistent run."
        )
        print(f"warning: {warning}", file=sys.stderr)
        summary.append(warning)
    history = {"cold": "", "calls50": "", "e2e": ""}
    with tempfile.TemporaryDirectory(prefix="s3flow-bench-") as scratch_name:
        scratch = Path(scratch_name)
        cold_results: list[cold_start.ColdResult] = []
        warm_results: list[warm.WarmResult] = []
        with Emulator() as emulator:
            assert emulator.resources is not None
            made = emulator.resources.provisioned_from
            summary.append(
                f"Cold-start and warm runs used a table and bus made {made}"
                + (" (the synthesized stack, rules included)." if made == "from the template"
                   else " (the template could not be provisioned; no rules on the bus).")
            )  # fmt: skip
            if "cold" in wanted:
                pairs = [
                    (ours(), reference()),
                    (ours_as_shipped(asset_dir, scratch), reference_as_shipped(scratch)),
                ]
                cold_results = cold_start.measure(pairs, emulator, repeats, scratch, (ours_unsampled(),))
                t = _show(cold_start.table(cold_results, pairs, repeats), cold_results)
                sections.append(("1. Cold start", t, _cold_text(cold_results, summary, history)))
                env = child_env(reference(), emulator.resources, "127.0.0.1:2000", scratch / "pycache")
                blocks = building_blocks.measure(repeats, env)
                t = _show(building_blocks.table(blocks, repeats), [])
                sections.append(("1b. What a cold start is made of", t, BLOCKS_TEXT))
            if "warm" in wanted or "cost" in wanted:
                invocations = {1: 6, 5: 2, 50: 1} if args.quick else {1: 25, 5: 8, 50: 2}
                warm_repeats = 2 if args.quick else 5
                warm_results = warm.measure(
                    [ours(), reference()], emulator, warm_repeats, invocations, scratch
                )
                t = _show(warm.table(warm_results, warm_repeats), warm_results)
                sections.append(("2. Warm cost per object", t, _warm_text(warm_results, summary, history)))
        if "e2e" in wanted:
            levels = e2e.measure(
                objects, CONCURRENCY, scratch, idle_samples=5 if args.quick else e2e.IDLE_SAMPLES
            )
            t = _show(e2e.table(levels, objects), [])
            sections.append(
                ("3. End to end through the local pipeline", t, _e2e_text(levels, summary, history))
            )
        if "package" in wanted:
            t = _show(package.table(package.packages(), package.synth_times(1 if args.quick else 3)), [])
            sections.append(("4. Deployment package and synth", t, PACKAGE_TEXT))
        if "cost" in wanted and warm_results and all(not r.failure for r in warm_results):
            bills = _bills(warm_results, cold_results)
            t = _show(cost.table(bills), [])
            sections.append(("5. Cost per million objects", t, _cost_text(bills, summary)))
    seconds = time.perf_counter() - clock
    print(f"\nbenchmarks took {seconds:.0f} s")
    if not args.no_write:
        run = document.RunInfo(
            "python -m bench" + (" --quick" if args.quick else "")
            + (f" --objects {args.objects}" if args.objects else ""),
            args.quick, repeats, objects, run_started, seconds,
        )  # fmt: skip
        row = document.history_row(run, history["cold"], history["calls50"], history["e2e"])
        document.write(args.output, run, summary, sections, row)
        print(f"wrote {args.output}")
    return 0


def _show(table: Table, results: list) -> Table:  # type: ignore[type-arg]
    print()
    print(table.text())
    for note in table.notes:
        print(f"  {note}")
    for result in results:
        if getattr(result, "failure", None):
            print(f"  !! {result.side.label}: {result.failure.splitlines()[0]}", file=sys.stderr)
            print("     " + "\n     ".join(result.failure.splitlines()[-8:]), file=sys.stderr)
    return table


def _cold_text(
    results: list[cold_start.ColdResult], summary: list[str], history: dict[str, str]
) -> list[str]:
    ok = [r for r in results if r.runs and r.side.sampled]
    by = {(r.side.name, r.side.as_shipped): r for r in ok}
    text = []
    unsampled = next((r for r in results if r.runs and not r.side.sampled), None)
    if unsampled and ("reference", False) in by:
        reference_cold = by[("reference", False)].median("cold_ms")
        summary.append(
            f"Cold start of ours when the invocation is not sampled (most are, on AWS: by default Lambda "
            f"samples one request a second plus 5%): {ms(unsampled.median('cold_ms'))} = "
            f"{x(ratio(unsampled.median('cold_ms'), reference_cold))} of the reference's traced one, which "
            "loads the X-Ray SDK and patches botocore on every cold start, sampled or not."
        )
    for shipped in (False, True):
        a, b = by.get(("ours", shipped)), by.get(("reference", shipped))
        if not (a and b):
            continue
        r = ratio(a.median("cold_ms"), b.median("cold_ms"))
        label = "as shipped (no bytecode for packaged code)" if shipped else "bytecode cached"
        verdict = "met" if r <= 0.5 else "not met"
        summary.append(
            f"Cold start, {label}: ours {ms(a.median('cold_ms'))} vs reference {ms(b.median('cold_ms'))} "
            f"(import + first event) = {x(r)}; goal at most 0.50x: **{verdict}**. In CPU time, less "
            f"sensitive to the noisy neighbours: {ms(a.median('cold_cpu_ms'))} vs "
            f"{ms(b.median('cold_cpu_ms'))} "
            f"= {x(ratio(a.median('cold_cpu_ms'), b.median('cold_cpu_ms')))}. Peak RSS "
            f"{a.median('peak_rss_mb'):.0f} MB vs {b.median('peak_rss_mb'):.0f} MB."
        )
        if not shipped:
            history["cold"] = x(r)
            text.append(
                f"Ours imports in {ms(a.median('import_ms'))} against the reference's "
                f"{ms(b.median('import_ms'))}, but its first event costs {ms(a.median('first_invoke_ms'))} "
                f"against {ms(b.median('first_invoke_ms'))}: our processor defers the boto3 clients and the "
                "OpenTelemetry SDK to the first (sampled) invocation, so the work moves rather than "
                "disappears. "
                "The reference builds its clients at import and pays for the X-Ray SDK and `patch_all()` "
                "(which tries to import every library it can patch)."
            )
    text.append(
        "What is measured: a fresh interpreter per row (`python -m bench.child`), with only `json`, `os`, "
        "`sys`, `time`, `resource` and `logging` loaded before the clock starts; `import` is the handler "
        "module's import, `first event` one S3 event of one record served against the emulator. Peak RSS "
        "is the child's `VmHWM` (getrusage's `ru_maxrss` is inherited from the forking parent on Linux). "
        "*As shipped* runs the code as Lambda would: our asset from `cdk.out`, the reference's inline code "
        "plus the aws-xray-sdk and wrapt it needs, both from folders without bytecode and with "
        "`PYTHONDONTWRITEBYTECODE=1`, so every packaged module is compiled on import (the runtime's own "
        "boto3 keeps its bytecode). Trace documents sent counts UDP datagrams received: both sides trace."
    )
    return text


def _warm_text(results: list[warm.WarmResult], summary: list[str], history: dict[str, str]) -> list[str]:
    by = {r.side.name: r for r in results if not r.failure}
    if "ours" not in by:
        return ["Our handler failed in the warm runs; see the terminal output."]
    a = by["ours"]
    for n in (5, 50):
        s = a.sizes[n]
        floor = warm.floor_calls(n)
        at_floor = s.calls_per_object() <= floor + 1e-9
        summary.append(
            f"Warm, {n}-record events: ours makes {s.calls_per_object():.2f} API calls per object against "
            "the "
            f"floor of {floor:.2f}: **{'at the floor' if at_floor else 'above the floor'}**"
            + (
                f"; per object {ms(s.per_object('wall_ms'))} wall vs the reference's "
                f"{ms(by['reference'].sizes[n].per_object('wall_ms'))} (the reference's number is invalid: "
                "it "
                f"keeps {by['reference'].sizes[n].per_object('items_written'):.2f} records per object)."
                if "reference" in by
                else "."
            )
        )
    history["calls50"] = f"{a.sizes[50].calls_per_object():.2f}"
    one = a.sizes[1]
    text = [
        "The floor is one DynamoDB write per object plus one `PutEvents` per ten objects. Above it, our "
        "extra call is the `BatchWriteItem` that flips each record from PENDING to PUBLISHED after its event "
        "is published (one per 25 objects, but one per invocation when an event has a single record, which "
        "is always the case for S3 notifications: "
        f"{one.calls_per_object():.2f} calls per object at 1 record).",
        "**The reference's 5- and 50-record numbers are invalid**: every record of an invocation is written "
        "under the same `requestId` and `timestamp`, so each `PutItem` overwrites the previous one and only "
        "one record per invocation survives (see *records kept/object*), and its single event lists all "
        "objects at once. It does less work because it loses data.",
        "*Waiting on AWS* is the time between botocore's `before-call` and `after-call` hooks, i.e. the "
        "emulator's service time. moto delivers each published event to the rule targets synchronously "
        "inside `PutEvents`; EventBridge does that asynchronously, so the per-object wall time here "
        "overstates what one event per object costs on AWS. *CPU/object* is the handler's own process CPU "
        "and is the number that carries over to Lambda. *Log bytes/object* is what the function writes to "
        "its log stream (the reference prints every event in full).",
    ]
    return text


def _e2e_text(levels: list[e2e.Level], summary: list[str], history: dict[str, str]) -> list[str]:
    text = [
        "Each row is a fresh `LocalPipeline` (moto behind our middleware in this process, the processor in "
        "spawned sandbox processes, `concurrency` of them), warmed with one object per sandbox. The burst is "
        f"uploaded by {e2e.UPLOAD_THREADS} threads; latency runs from the upload's start to the pipeline's "
        "`recorded` flow event for that object (the invocation has returned, so the record and its event "
        "are written). Burst latency is mostly queueing behind earlier objects; idle latency is one object "
        "at a time. The reference runs through the same pipeline with the template's handler pointed at it.",
    ]
    ours_levels = [lv for lv in levels if lv.side == "ours" and lv.objects]
    if not ours_levels:
        return [*text, "Our side could not run through the pipeline in this run; see the table's notes."]
    rates = " / ".join(f"{lv.throughput:,.0f}" for lv in ours_levels)
    history["e2e"] = rates
    low, high = ours_levels[0], ours_levels[-1]
    levels_text = " / ".join(str(lv.concurrency) for lv in ours_levels)
    busiest = max(lv.emulator_cores for lv in ours_levels)
    summary.append(
        f"End to end, ours: {rates} objects/s at concurrency {levels_text}; it scales from "
        f"{low.concurrency} to the next level, then the single emulator process is the limit "
        f"(busy {busiest:.2f} cores at most, one GIL)."
    )
    waited, burst = ms(median(low.latencies_ms)), f"{low.seconds:.0f} s"
    high_p50, high_idle = ms(median(high.latencies_ms)), ms(median(high.idle_ms))
    text.append(
        f"Where it saturates. At concurrency {low.concurrency} objects queue for the one sandbox: the "
        f"median object waited {waited} in a {burst} burst, so the function side is the limit. At "
        f"{high.concurrency} the queue is gone (median {high_p50}, close to the idle {high_idle}) and yet "
        "the rate did not keep rising: every upload, S3 notification, DynamoDB and EventBridge request, rule "
        "delivery and trace document goes through one Python process (moto and our middleware) that can use "
        f"one core at a time; it was busy {high.emulator_cores:.2f} cores, while the machine as a whole was "
        f"at {high.machine_cores:.2f} of its {os.cpu_count()} cores (it is shared with other jobs). Sandbox "
        "CPU per object grows with concurrency because more processes compete for the same two cores."
    )
    text.append(
        "Why ours is slower here than the reference: per object ours sends the emulator one more request "
        "(the PUBLISHED batch write), one event routed to the log group per object, and more trace "
        "documents, and its sandbox CPU per object is higher (see the warm table). On AWS those requests "
        "go to services that scale on their own, so the local throughput is a property of the emulator; "
        "what carries over is the per-object work, priced in the cost table."
    )
    return text


BLOCKS_TEXT = [
    "Each line is timed alone in a fresh interpreter with the same Lambda-like environment (bytecode "
    "cached). Both handlers pay for boto3 and two clients before anything else; the tracing SDK comes on "
    "top. A client that signs its two JSON calls with the standard library (`http.client`, `hmac`) loads "
    "a fraction of that; see the findings below for what that would mean for ours.",
]


PACKAGE_TEXT = [
    "Zipped with deflate like the CDK does. Ours is the bundled asset exactly as synthesized into "
    "`cdk.out` (the processor, the contract module and the OpenTelemetry API/SDK; boto3 comes from the "
    "runtime). The reference as written ships one inline file that cannot run: `aws_xray_sdk` is not part "
    "of the Lambda Python runtime, so its import fails on the first cold start; the last row is what it "
    "would have to ship (its layer) to run. Lambda downloads and unpacks the zip on every cold start, so "
    "fewer, smaller files also mean less to read and compile at import.",
]


def _bills(warm_results: list[warm.WarmResult], cold_results: list[cold_start.ColdResult]) -> list[cost.Bill]:
    cold = {(r.side.name, r.side.as_shipped): r for r in cold_results if r.runs and r.side.sampled}

    def cold_ms(name: str) -> float:
        result = cold.get((name, True)) or cold.get((name, False))
        return result.median("cold_cpu_ms") if result else 0.0

    by = {r.side.name: r for r in warm_results}
    designs = [
        cost.Design("ours", "arm64", MEMORY_MB, by["ours"].sizes[1], cold_ms("ours")),
        cost.Design("reference", "x86_64", MEMORY_MB, by["reference"].sizes[1], cold_ms("reference")),
    ]
    return [cost.bill(d) for d in designs]


def _cost_text(bills: list[cost.Bill], summary: list[str]) -> list[str]:
    a, b = bills
    summary.append(
        f"Cost per million objects on AWS: ours {cost.usd_total(a)} vs the reference design's "
        f"{cost.usd_total(b)} ({x(ratio(a.total, b.total))}); ours is the only one of the two that keeps "
        "every record and event when an event carries several records."
    )
    biggest = max(a.lines, key=lambda k: a.lines[k])
    return [
        f"The largest line for ours is {biggest.lower()}. Ours writes each record twice (PENDING, then "
        "PUBLISHED) and both writes carry the time-index key, so each object costs two table writes and two "
        "index writes; the reference writes once (plus its index). In exchange a crash between the write "
        "and the publish is repaired by the retry instead of leaving a record without its event. arm64 "
        "makes our compute 20% cheaper per GB-s; the reference design runs on x86_64 (it sets no "
        "architecture).",
        f"Median modelled warm duration: ours {a.duration_ms:.0f} ms, reference {b.duration_ms:.0f} ms. "
        "Duration is a small share of the bill, so memory right-sizing matters less than the writes.",
    ]


if __name__ == "__main__":
    raise SystemExit(main())
