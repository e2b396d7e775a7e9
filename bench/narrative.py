"""The prose under each table of docs/performance.md, written from the measured numbers.

Each function also adds its headline to the summary and its figure to the history row.
"""

from __future__ import annotations

import os

from bench import cold_start, cost, e2e, warm
from bench.report import ms, x
from bench.stats import median, ratio


def cold_text(results: list[cold_start.ColdResult], summary: list[str], history: dict[str, str]) -> list[str]:
    ok = [r for r in results if r.runs and r.side.sampled]
    by = {(r.side.name, r.side.as_shipped): r for r in ok if not r.side.compiled}
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
            history["cold"] = f"{x(r)} (CPU {x(ratio(a.median('cold_cpu_ms'), b.median('cold_cpu_ms')))})"
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
        "boto3 keeps its bytecode). *With bytecode* is our asset compiled at build time "
        "(`compileall --invalidation-mode unchecked-hash`), which the bundler does not do today. Trace "
        "documents sent counts UDP datagrams received: both sides trace."
    )
    compiled = next((r for r in results if r.runs and r.side.compiled), None)
    ours_shipped = by.get(("ours", True))
    if compiled and ours_shipped:
        text.insert(
            -1,
            f"Shipping bytecode would take ours as shipped from {ms(ours_shipped.median('cold_cpu_ms'))} to "
            f"{ms(compiled.median('cold_cpu_ms'))} of CPU on a cold start "
            f"({x(ratio(compiled.median('cold_cpu_ms'), ours_shipped.median('cold_cpu_ms')))}).",
        )
    return text


def warm_text(results: list[warm.WarmResult], summary: list[str], history: dict[str, str]) -> list[str]:
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
    extra = [op for op in one.calls_by_operation() if op not in ("dynamodb:PutItem", "events:PutEvents")]
    if extra:
        above = (
            f"Above it, ours also calls {', '.join(f'`{op}`' for op in extra)}"
            + (
                " (the `BatchWriteItem` flips records from PENDING to PUBLISHED after their events are "
                "published: one call per 25 objects, but one per invocation when the event has a single "
                "record, which is always the case for S3 notifications)"
                if "dynamodb:BatchWriteItem" in extra
                else ""
            )
            + f": {one.calls_per_object():.2f} calls per object at 1 record."
        )
    else:
        above = f"Ours makes {one.calls_per_object():.2f} calls per object at 1 record."
    text = [
        f"The floor is one DynamoDB write per object plus one `PutEvents` per ten objects. {above}",
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


def e2e_text(levels: list[e2e.Level], summary: list[str], history: dict[str, str]) -> list[str]:
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
    plateau = next(
        (a for a, b in zip(ours_levels, ours_levels[1:], strict=False) if b.throughput < a.throughput * 1.1),
        None,
    )
    scaling = (
        f"it stops scaling after concurrency {plateau.concurrency}" if plateau else "it rises at every level"
    )
    summary.append(
        f"End to end, ours: {rates} objects/s at concurrency {levels_text}; {scaling}, held by the single "
        f"emulator process (busy {busiest:.2f} cores at most: one GIL) on a 2-core machine shared with "
        "other jobs."
    )
    waited, burst = ms(median(low.latencies_ms)), f"{low.seconds:.0f} s"
    high_p50, high_idle = ms(median(high.latencies_ms)), ms(median(high.idle_ms))
    text.append(
        f"Where it saturates. At concurrency {low.concurrency} objects queue for the one sandbox: the "
        f"median object waited {waited} in a {burst} burst, so the function side is the limit. At "
        f"{high.concurrency} the queue has mostly drained (median {high_p50}, against {high_idle} for an "
        f"object alone) but the rate stayed at {high.throughput:,.0f} objects/s: the uploads themselves "
        "arrive no faster, because every upload, S3 notification, DynamoDB and EventBridge request, rule "
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


def cost_text(bills: list[cost.Bill], summary: list[str]) -> list[str]:
    a, b = bills
    summary.append(
        f"Cost per million objects on AWS: ours {cost.usd_total(a)} vs the reference design's "
        f"{cost.usd_total(b)} ({x(ratio(a.total, b.total))}); ours is the only one of the two that keeps "
        "every record and event when an event carries several records."
    )
    biggest = max(a.lines, key=lambda k: a.lines[k])
    share = a.lines[biggest] / a.total
    ours_w, ref_w = a.design.warm, b.design.warm
    writes, index = ours_w.billed_per_object("item_writes"), ours_w.billed_per_object("index_writes")
    ref_writes, ref_index = (
        ref_w.billed_per_object("item_writes"),
        ref_w.billed_per_object("index_writes"),
    )
    logs_a, logs_b = ours_w.per_object("log_bytes"), ref_w.per_object("log_bytes")
    return [
        f"The largest line for ours is {biggest} ({share:.0%} of the total). Per object ours makes "
        f"{writes:.2f} item writes and {index:.2f} time-index writes; the reference makes "
        f"{ref_writes:.2f} ({ref_index:.2f} index writes). Ours writes PENDING before publishing and "
        "PUBLISHED after, so a crash in between is repaired by the retry instead of leaving a record "
        "without its event; the index leaves eventState out (the template's INCLUDE projection), so the "
        "PUBLISHED rewrite costs no index write. Function logs: ours writes "
        f"{logs_a:,.0f} bytes per single-record invocation, the reference {logs_b:,.0f}. arm64 makes our "
        "compute 20% cheaper per GB-s; the reference design runs on x86_64 (it sets no architecture).",
        f"Modelled warm duration per invocation: ours {a.duration_ms:.0f} ms, reference "
        f"{b.duration_ms:.0f} ms. Duration is a small share of the bill, so memory matters less than the "
        "writes and the logs.",
    ]
