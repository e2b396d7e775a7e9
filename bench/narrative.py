"""The prose under each table of docs/performance.md, written from the measured numbers.

Each function also adds its headline to the summary and its figure to the history row.
"""

from __future__ import annotations

import os

from bench import building_blocks, cold_start, cost, e2e, warm
from bench.report import ms, x
from bench.sides import PROCESSOR, PUBLISHER
from bench.stats import median, ratio
from s3flow import contract
from s3flow.local.event_sources.dynamodb_stream import POLL_INTERVAL

TLS_TEXT = (
    "Both sides reach the emulator over HTTPS, as Lambda's functions reach AWS: it is served with a CA "
    "made for the run, and each side trusts it through a bundle the size of the one it loads on Lambda "
    "(botocore's ~140 authorities plus the run's CA): ours through `SSL_CERT_FILE` (Python's default "
    "context), the reference's botocore through `AWS_CA_BUNDLE`. So every first-event column includes "
    "building the TLS context, loading that bundle and the handshake (section 1b has the context alone)."
)


def cold_text(results: list[cold_start.ColdResult], summary: list[str], history: dict[str, str]) -> list[str]:
    ok = [r for r in results if r.runs and r.side.sampled and r.side.role == PROCESSOR]
    # (name, False): bytecode cached for everything; (name, True): the code as Lambda gets it.
    by = {(r.side.name, False): r for r in ok if not r.side.as_shipped}
    by |= {(r.side.name, True): r for r in ok if r.side.shipped_form}
    ours_shipped = by.get(("ours", True))
    asset_compiled = bool(ours_shipped and ours_shipped.side.compiled)
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
        if not shipped:
            label = "bytecode cached"
        elif asset_compiled:
            label = "as shipped (our asset with the bytecode the bundler ships; the reference's without)"
        else:
            label = "as shipped (no bytecode for packaged code)"
        verdict = "met" if r <= 0.5 else "not met"
        summary.append(
            f"Cold start of the processor, {label}: ours {ms(a.median('cold_ms'))} vs reference "
            f"{ms(b.median('cold_ms'))} (import + first event) = {x(r)}; goal at most 0.50x: **{verdict}**. "
            f"In CPU time, less sensitive to the noisy neighbours: {ms(a.median('cold_cpu_ms'))} vs "
            f"{ms(b.median('cold_cpu_ms'))} "
            f"= {x(ratio(a.median('cold_cpu_ms'), b.median('cold_cpu_ms')))}. Peak RSS "
            f"{a.median('peak_rss_mb'):.0f} MB vs {b.median('peak_rss_mb'):.0f} MB."
        )
        if not shipped:
            history["cold"] = f"{x(r)} (CPU {x(ratio(a.median('cold_cpu_ms'), b.median('cold_cpu_ms')))})"
            text.append(
                f"Ours imports in {ms(a.median('import_ms'))} against the reference's "
                f"{ms(b.median('import_ms'))}; its first event costs {ms(a.median('first_invoke_ms'))} "
                f"against {ms(b.median('first_invoke_ms'))}. Our processor writes through its own "
                "standard-library JSON client (`s3flow.functions.shared.aws_api`: SigV4 with `hmac`, "
                "`http.client`), imported with the handler and built on the first invocation, with no "
                "service model to load; the OpenTelemetry SDK is built on the first sampled invocation. "
                "botocore is loaded only when a processing step reads an object from S3. The reference "
                "builds its boto3 clients at import and pays for the X-Ray SDK and `patch_all()` (which "
                "tries to import every library it can patch)."
            )
    goal = _goal_text(by)
    if goal:
        text.insert(0, goal)
    text.append(TLS_TEXT)
    bytecode = (
        "*With bytecode* is our asset compiled for this interpreter (`compileall --invalidation-mode "
        "unchecked-hash`): the bundler ships bytecode compiled for Lambda's Python 3.13, which this 3.11 "
        "benchmark cannot load, so this row stands for our asset as Lambda gets it; *asset without its "
        "bytecode* is the same asset with the bytecode removed."
        if asset_compiled
        else "*With bytecode* is our asset compiled at build time (`compileall --invalidation-mode "
        "unchecked-hash`), which the bundler does not do."
    )
    text.append(
        "What is measured: a fresh interpreter per row (`python -m bench.child`), with only `json`, `os`, "
        "`sys`, `time`, `resource` and `logging` loaded before the clock starts; `import` is the handler "
        "module's import, `first event` one S3 event of one record served against the emulator. Peak RSS "
        "is the child's `VmHWM` (getrusage's `ru_maxrss` is inherited from the forking parent on Linux). "
        "*As shipped* runs the code as Lambda would: our asset from `cdk.out`, the reference's inline code "
        "plus the aws-xray-sdk and wrapt it needs, from folders with `PYTHONDONTWRITEBYTECODE=1`, so every "
        "packaged module without bytecode is compiled on import (the runtime's own boto3 keeps its "
        f"bytecode). {bytecode} Trace documents sent counts UDP datagrams received: both sides trace."
    )
    publishers = {r.side.as_shipped: r for r in results if r.runs and r.side.role == PUBLISHER}
    if publishers:
        shown = "; ".join(
            f"{'as shipped' if shipped else 'bytecode cached'} {ms(r.median('cold_ms'))} "
            f"(CPU {ms(r.median('cold_cpu_ms'))}, peak RSS {r.median('peak_rss_mb'):.0f} MB)"
            for shipped, r in sorted(publishers.items())
        )
        summary.append(
            "Cold start of our second function, the publisher (our JSON client for EventBridge, fed a "
            f"stream batch of one record): {shown}. It is off the object's path to its record: a "
            "publisher cold start delays only the event."
        )
        text.append(
            "The publisher rows are our other function, the same asset with the handler "
            "`s3flow.functions.publisher.handler.handler`, serving a DynamoDB stream batch of one record "
            "(read from the emulator's stream after one of our processor's cold starts). The reference has "
            "no counterpart: it publishes inside its one function, so its row above already includes that "
            "work."
        )
    compiled = next((r for r in ok if r.side.compiled), None)
    plain = next((r for r in ok if r.side.as_shipped and not r.side.compiled), None)
    if compiled and plain:
        with_pyc, without = compiled.median("cold_cpu_ms"), plain.median("cold_cpu_ms")
        text.insert(
            -1,
            f"The asset's bytecode takes our cold start from {ms(without)} to {ms(with_pyc)} of CPU "
            f"({x(ratio(with_pyc, without))})."
            if asset_compiled
            else f"Shipping bytecode would take ours as shipped from {ms(without)} to {ms(with_pyc)} of CPU "
            f"on a cold start ({x(ratio(with_pyc, without))}).",
        )
    return text


def _goal_text(by: dict[tuple[str, bool], cold_start.ColdResult]) -> str:
    """Where the standard-library client left the processor against the 0.50x goal, from this run."""
    shown = []
    for shipped, label in ((False, "with bytecode cached"), (True, "as shipped")):
        a, b = by.get(("ours", shipped)), by.get(("reference", shipped))
        if a and b:
            ours_ms, reference_ms = a.median("cold_ms"), b.median("cold_ms")
            r = ratio(ours_ms, reference_ms)
            gap = "" if r <= 0.5 else f", {ms(ours_ms - reference_ms / 2)} above the goal"
            shown.append(f"{x(r)} {label} (**{'met' if r <= 0.5 else 'not met'}**{gap})")
    if not shown:
        return ""
    return (
        "Both functions sign their JSON calls with the standard library rather than botocore, whose "
        "session and one client would be most of a cold start (see *What a cold start is made of* for "
        "the pieces, measured alone). Against the goal of at most 0.50x of the reference's cold start, "
        f"the processor is at {' and '.join(shown)}."
    )


def warm_text(results: list[warm.WarmResult], summary: list[str], history: dict[str, str]) -> list[str]:
    by = {r.side.name: r for r in results if not r.failure}
    if "ours" not in by:
        return ["Our handler failed in the warm runs; see the terminal output."]
    a = by["ours"]
    if not a.publisher:
        return ["Our publisher was not measured in this run; see the terminal output."]
    reference = by.get("reference")
    for n in warm.SIZES:
        floor = warm.floor_calls(n)
        quiet, busy = a.total_calls(n, warm.PER_EVENT), a.total_calls(n, warm.FULL)
        processor = a.sizes[n]
        line = (
            f"Warm, {n}-record events: ours makes {quiet:.2f} API calls per object when each stream batch "
            f"holds that event's records, {busy:.2f} with full batches of {contract.PUBLISHER_BATCH_SIZE}, "
            f"against the floor of {floor:.2f}: **{_against(quiet, floor)}** / **{_against(busy, floor)}**"
        )
        if reference is not None:
            r = reference.sizes[n]
            publisher = a.publisher[warm.PER_EVENT][n]
            quiet_wall = processor.per_object("wall_ms") + publisher.per_object("wall_ms")
            line += (
                f"; wall per object {ms(processor.per_object('wall_ms'))} in the processor, "
                f"{ms(quiet_wall)} with the publisher, against the reference's {ms(r.per_object('wall_ms'))}"
            )
            if n > 1:
                line += (
                    f" (invalid: the reference keeps {r.per_object('items_written'):.2f} records per object)"
                )
        summary.append(line + ".")
    history["calls50"] = (
        f"{a.total_calls(50, warm.PER_EVENT):.2f} (processor {a.sizes[50].calls_per_object():.2f} + "
        f"publisher {a.publisher[warm.PER_EVENT][50].calls_per_object():.2f})"
    )
    one = a.sizes[1]
    quiet_one, busy_one = a.publisher[warm.PER_EVENT][1], a.publisher[warm.FULL][1]
    text = [
        "The floor is one DynamoDB write per object plus one `PutEvents` per ten objects. Ours is now two "
        "functions: the processor makes the write (one conditional `PutItem` per object: "
        f"{one.calls_per_object():.2f} calls per object at 1 record), and the publisher, fed the table "
        "stream's records of the same objects (read back from the emulator's stream and handed over as "
        "Lambda's event source mapping would), makes the `PutEvents` calls, ten entries per call at most. "
        "How many objects share a call depends on the stream batch, not on the S3 event: *batch = one "
        "event's records* is what a quiet table gives (the poller finds only those records: "
        f"{quiet_one.calls_per_object():.2f} `PutEvents` per object for single-record S3 events, the same "
        "as publishing inline), *batch of "
        f"{contract.PUBLISHER_BATCH_SIZE}* what a busy one gives (the mapping's BatchSize: "
        f"{busy_one.calls_per_object():.2f} per object whatever the S3 event held). Under load ours is "
        "therefore below the per-event floor for single-record events, the case every S3 notification is. "
        "The stream reads themselves are made by Lambda's poller, not by either function, and are not "
        "billed (cost table).",
        "**The reference's 5- and 50-record numbers are invalid**: every record of an invocation is written "
        "under the same `requestId` and `timestamp`, so each `PutItem` overwrites the previous one and only "
        "one record per invocation survives (see *records kept/object*), and its single event lists all "
        "objects at once. It does less work because it loses data.",
        "Warm runs reach the emulator over plain HTTP: its server keeps no connection alive, so over TLS "
        "every call would pay a handshake (and botocore its CA bundle again) that a warm function on AWS, "
        "holding its connections open, does not. "
        "Both of our functions run in one warm child process, one after the other (processor, then "
        "publisher on what it wrote), with their time, calls and log bytes counted apart; on AWS they are "
        "two containers. *Waiting on AWS* is the time spent inside each API call as the function sees it "
        "(for ours, our JSON client's `call`, retries included; for the reference, from botocore's "
        "`before-call` to its `after-call` hook), i.e. mostly the emulator's service time. moto "
        "delivers each published event to the rule targets synchronously inside `PutEvents` "
        f"({_put_events_ms_per_entry(busy_one)} per entry here, full batches); EventBridge does that "
        "asynchronously, so the publisher's wall time here overstates what an event costs on AWS. "
        "*CPU/object* is each function's own process CPU and is the number that carries over to Lambda. "
        "*Log bytes/object* is what the function writes to its log stream (the reference prints every "
        "event in full).",
    ]
    return text


def _put_events_ms_per_entry(publisher: warm.SizeResult) -> str:
    entries = publisher.billed_per_object("event_entries")
    spent = publisher.call_ms_by_operation().get("events:PutEvents")
    return "n/a" if not entries or spent is None else ms(spent / entries)


def _against(calls: float, floor: float) -> str:
    if calls < floor - 1e-9:
        return "below the floor"
    return "at the floor" if calls <= floor + 1e-9 else "above the floor"


def e2e_text(levels: list[e2e.Level], summary: list[str], history: dict[str, str]) -> list[str]:
    text = [
        "Each row is a fresh `LocalPipeline` (moto behind our middleware in this process, the functions in "
        "spawned sandbox processes, up to `concurrency` per function; for ours the local event source "
        "mapping polls the table's stream and invokes the publisher), warmed with one object per sandbox. "
        f"The burst is uploaded by {e2e.UPLOAD_THREADS} threads. *Upload to record* runs from the upload's "
        "start to the pipeline's `recorded` flow event (the processor's invocation returned: the record is "
        "written); *upload to event* to the moment a rule delivered the object's event to the log group "
        "(the `routed` flow). objects/s counts until the last object's event. Burst latency is mostly "
        "queueing behind earlier objects; idle latency is one object at a time. The reference runs through "
        "the same pipeline with the processor's handler pointed at it, the bus name added to its "
        "environment and the stream mapping left out (it publishes inside its invocation, so its event "
        "comes before its record).",
    ]
    ours_levels = [lv for lv in levels if lv.side == "ours" and lv.objects]
    if not ours_levels:
        return [*text, "Our side could not run through the pipeline in this run; see the table's notes."]
    rates = " / ".join(f"{lv.throughput:,.0f}" for lv in ours_levels)
    history["e2e"] = rates
    low, high = ours_levels[0], ours_levels[-1]
    levels_text = " / ".join(str(lv.concurrency) for lv in ours_levels)
    busiest = max(lv.emulator_cores for lv in ours_levels)
    best = max(ours_levels, key=lambda lv: lv.throughput)
    plateau = next(
        (a for a, b in zip(ours_levels, ours_levels[1:], strict=False) if b.throughput < a.throughput * 1.1),
        None,
    )
    scaling = (
        f"it stops scaling after concurrency {plateau.concurrency}" if plateau else "it rises at every level"
    )
    reference = {lv.concurrency: lv for lv in levels if lv.side == "reference" and lv.objects}
    versus = " / ".join(f"{reference[lv.concurrency].throughput:,.0f}" for lv in ours_levels
                        if lv.concurrency in reference)  # fmt: skip
    summary.append(
        f"End to end, ours: {rates} objects/s at concurrency {levels_text} (reference {versus or 'n/a'}); "
        f"{scaling}, held by the single emulator process (busy {busiest:.2f} cores at most: one GIL) on a "
        f"{os.cpu_count()}-core machine shared with other jobs. One object alone: upload to record "
        f"{ms(median(low.idle_ms))}, upload to event {ms(median(low.idle_event_ms))}."
    )
    waited, burst = ms(median(low.latencies_ms)), f"{low.seconds:.0f} s"
    high_p50, high_idle = ms(median(high.latencies_ms)), ms(median(high.idle_ms))
    text.append(
        f"Where it saturates. At concurrency {low.concurrency} objects queue for the one processor sandbox: "
        f"the median object waited {waited} for its record in a {burst} burst, so the function side is the "
        f"limit. The best rate was {best.throughput:,.0f} objects/s at concurrency {best.concurrency}. At "
        f"{high.concurrency} the record queue has mostly drained (median {high_p50}, against {high_idle} "
        f"for an object alone) but the rate is {high.throughput:,.0f} objects/s: every upload, S3 "
        "notification, DynamoDB write, stream poll, EventBridge request, rule delivery and trace document "
        "goes through one Python process (moto and our middleware) that can use one core at a time; it "
        f"was busy {high.emulator_cores:.2f} cores, while the machine as a whole was at "
        f"{high.machine_cores:.2f} of its {os.cpu_count()} cores (it is shared with other jobs), and "
        "sandbox CPU per object grows with concurrency because more processes compete for the same cores."
    )
    text.append(
        "Upload to event against upload to record: ours announces an object only after its record is "
        "written and the stream poller has found it (the local mapping polls every "
        f"{POLL_INTERVAL * 1000:.0f} ms when idle; Lambda's poller reads each shard about four times a "
        "second), then runs the "
        "publisher, so the event comes a poll interval and an invocation after the record. The reference "
        "publishes before returning. What that buys is in the findings: no event without its record, "
        "and no duplicate event when the processor is retried. On AWS these requests go to services that "
        "scale on their own, so the local throughput is a property of the emulator; what carries over is "
        "the per-object work, priced in the cost table."
    )
    return text


def blocks_text(blocks: dict[str, list[dict[str, float]]]) -> list[str]:
    def at(label: str) -> str:
        value = building_blocks.median_ms(blocks, label)
        return "n/a (failed)" if value is None else ms(value)

    def versus(new: str, old: str) -> str:
        a, b = building_blocks.median_ms(blocks, new), building_blocks.median_ms(blocks, old)
        return "" if a is None or b is None else f", {x(ratio(a, b))} of botocore's"

    return [
        "Each line is timed alone in a fresh interpreter with the same Lambda-like environment (bytecode "
        "cached). The reference pays for boto3 and its two clients "
        f"({at(building_blocks.BOTO3_CLIENTS)}) before anything else. One client each on botocore alone "
        "(no boto3) would cost our functions "
        f"{at(building_blocks.BOTOCORE_DYNAMODB)} for the processor's DynamoDB client and "
        f"{at(building_blocks.BOTOCORE_EVENTS)} for the publisher's EventBridge client, most of it "
        "loading service models. They sign their JSON calls with the standard library instead "
        "(`s3flow.functions.shared.aws_api`): importing it and building the client takes "
        f"{at(building_blocks.JSON_DYNAMODB)} for DynamoDB"
        f"{versus(building_blocks.JSON_DYNAMODB, building_blocks.BOTOCORE_DYNAMODB)}, and "
        f"{at(building_blocks.JSON_EVENTS)} for EventBridge"
        f"{versus(building_blocks.JSON_EVENTS, building_blocks.BOTOCORE_EVENTS)}. The botocore rows are "
        "also what a processing step that reads from S3 loads on its first read. A default TLS context "
        f"loading a Lambda-sized CA bundle takes {at(building_blocks.TLS_CONTEXT)}: every cold start's "
        "first HTTPS call pays it, on both sides.",
        "Tracing comes on top: the OpenTelemetry SDK that ours builds on a sampled invocation takes "
        f"{at(building_blocks.TRACER_ALONE)} alone, as our functions load it, and "
        f"{at(building_blocks.TRACER_AFTER_BOTO3)} after boto3, with which it shares modules; the "
        "reference's X-Ray SDK and `patch_all()` load on every cold start, sampled or not.",
    ]


PACKAGE_TEXT = [
    "Zipped with deflate like the CDK does. Ours is the bundled asset exactly as synthesized into "
    "`cdk.out` (the processor with its standard-library AWS client, the contract module and the "
    "OpenTelemetry API/SDK; botocore, for the processing steps that read objects, comes from the "
    "runtime). The outbox's second function, the publisher, is the same asset with another handler "
    "(`s3flow.functions.publisher.handler.handler`): one zip is uploaded, and each function downloads it on "
    "its own cold starts. The reference as written ships one inline file that cannot run: `aws_xray_sdk` "
    "is not part of the Lambda Python runtime, so its import fails on the first cold start; the last row "
    "is what it would have to ship (its layer) to run. Lambda downloads and unpacks the zip on every cold "
    "start, so fewer, smaller files also mean less to read and compile at import.",
]


def cost_text(bills: list[cost.Bill], summary: list[str]) -> list[str]:
    *ours, reference = bills
    totals = ", ".join(f"{cost.usd_total(b)} ({b.design.label}, {x(ratio(b.total, reference.total))})"
                       for b in ours)  # fmt: skip
    summary.append(
        f"Cost per million objects on AWS: ours {totals} vs the reference design's "
        f"{cost.usd_total(reference)}; ours is the only one of the two that keeps every record and event "
        "when an event carries several records, and never publishes an event without its record."
    )
    low, high = ours[0], ours[-1]
    processor = low.design.functions[0].warm
    ref_w = reference.design.functions[0].warm
    writes, index = processor.billed_per_object("item_writes"), processor.billed_per_object("index_writes")
    size = processor.billed_per_object("item_bytes") / max(writes, 1e-9)
    units = processor.billed_per_object("write_units") + processor.billed_per_object("index_write_units")
    ref_units = ref_w.billed_per_object("write_units") + ref_w.billed_per_object("index_write_units")
    logs = "; ".join(
        f"{f.label} {f.warm.per_object('log_bytes'):,.0f} bytes per object with batches of "
        f"{1 / f.invocations_per_object:.0f}"
        for b in ours for f in b.design.functions[1:]
    )  # fmt: skip
    biggest = max(low.lines, key=lambda k: low.lines[k])
    return [
        "Both publisher batch shapes are priced: a quiet table gives the publisher one stream record per "
        f"invocation ({low.design.label}), a busy one full batches of {contract.PUBLISHER_BATCH_SIZE} "
        f"({high.design.label}); real traffic sits in between. The processor is invoked once per object "
        "either way (one record per S3 notification).",
        f"DynamoDB writes: ours makes {writes:.2f} item write per object ({size:,.0f} B, 1 WRU per started "
        f"KB) and {index:.2f} time-index write, {units:.2f} WRU per object in all; the reference "
        f"{ref_units:.2f}. The outbox's processor writes each record once, "
        "and the stream (free to read for a Lambda trigger) carries it to the publisher. Function logs: "
        f"processor {processor.per_object('log_bytes'):,.0f} bytes per single-record invocation; {logs}; "
        f"the reference {ref_w.per_object('log_bytes'):,.0f}. The largest line for ours is {biggest} "
        f"({low.lines[biggest] / low.total:.0%} of the total with batches of one). arm64 makes our compute "
        "20% cheaper per GB-s; the reference design runs on x86_64 (it sets no architecture).",
        "Modelled warm duration per invocation: "
        + "; ".join(
            f"{b.design.label}: " + ", ".join(f"{k} {v:.0f} ms" for k, v in b.duration_ms.items())
            for b in bills
        )
        + f". The publisher with a full batch makes ten `PutEvents` calls per invocation (up to "
        f"{contract.PUBLISHER_PUT_CONCURRENCY} at once), and a hundred objects share that invocation.",
    ]
