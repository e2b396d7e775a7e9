"""5. Cost per million objects on AWS, from what the handlers were measured to do.

S3 notifications carry one record per event, so a million objects is a million invocations;
the per-object figures come from the 1-record warm runs. Prices are the published on-demand
prices in us-east-1 (see ``PRICES``); what could not be measured locally is an assumption,
listed in ``ASSUMPTIONS`` and printed with the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.report import Table, usd, x
from bench.stats import ratio
from bench.warm import SizeResult

PRICES = {
    "lambda_request": 0.20 / 1e6,  # per request, both architectures
    "lambda_gb_s_arm64": 0.0000133334,  # first 7.5 billion GB-s a month
    "lambda_gb_s_x86_64": 0.0000166667,  # first 6 billion GB-s a month
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit (1 KB), since November 2024
    "eventbridge_event": 1.00 / 1e6,  # custom event, per 64 KB chunk of payload
    "logs_gb": 0.50,  # CloudWatch Logs standard ingestion, per GB
}
PRICE_SOURCES = (
    "https://aws.amazon.com/lambda/pricing/, https://aws.amazon.com/dynamodb/pricing/on-demand/, "
    "https://aws.amazon.com/eventbridge/pricing/, https://aws.amazon.com/cloudwatch/pricing/"
)

FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, proportionally less below
CALL_MS = {"dynamodb": 6.0, "events": 15.0}  # assumed in-region round trip per call
COLD_FRACTION = 0.01  # share of invocations that start a new execution environment
PLATFORM_LOG_BYTES = 350  # START, END and REPORT lines Lambda writes per invocation
RULE_ENVELOPE_BYTES = 300  # version, id, time, account, region... around each routed detail
# The reference design attaches the Lambda Insights extension (as "XRayLayer"): one EMF log event per
# invocation in /aws/lambda-insights, about this size (AWS's example event).
INSIGHTS_EVENT_BYTES = 1100
ASSUMPTIONS = (
    f"CPU time measured here is scaled by {FULL_VCPU_MB} / memory MB (Lambda's CPU share); "
    f"each API call adds an assumed round trip ({', '.join(f'{k} {v:g} ms' for k, v in CALL_MS.items())}); "
    f"{COLD_FRACTION:.0%} of invocations are cold starts, whose import and first event "
    "(CPU time, scaled the same way) are billed "
    f"(INIT is billed since August 2025); Lambda adds {PLATFORM_LOG_BYTES} bytes of platform log lines per "
    f"invocation; every published event is delivered by a rule to the log group with a "
    f"{RULE_ENVELOPE_BYTES}-byte envelope; the reference design's Lambda Insights layer writes a "
    f"{INSIGHTS_EVENT_BYTES}-byte log event per invocation (its extension's own run time is left out). "
    "X-Ray is left out: both trace every sampled invocation alike."
)


@dataclass(frozen=True)
class Design:
    label: str
    architecture: str  # "arm64" or "x86_64"
    memory_mb: int
    warm: SizeResult  # 1-record events
    cold_cpu_ms: float  # CPU time of import + first event, measured here
    lambda_insights: bool = False


@dataclass(frozen=True)
class Bill:
    design: Design
    duration_ms: float  # modelled warm duration per invocation on Lambda
    lines: dict[str, float]  # dollars per million objects

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def bill(design: Design) -> Bill:
    w = design.warm
    cpu_scale = FULL_VCPU_MB / design.memory_mb
    calls = w.calls_by_operation()
    wait_ms = sum(per_object * CALL_MS.get(name.split(":")[0], 10.0) for name, per_object in calls.items())
    duration_ms = w.per_object("cpu_ms") * cpu_scale + wait_ms
    init_ms = design.cold_cpu_ms * cpu_scale
    gb_s_price = PRICES[f"lambda_gb_s_{design.architecture}"]
    gb = design.memory_mb / 1024
    million = 1e6
    billed_ms = -(-duration_ms // 1)  # Lambda bills in 1 ms steps, rounded up
    event_bytes = w.billed_per_object("event_bytes")
    entries = w.billed_per_object("event_entries")
    log_bytes = w.per_object("log_bytes") + PLATFORM_LOG_BYTES + event_bytes + entries * RULE_ENVELOPE_BYTES
    lines = {
        "Lambda requests": million * PRICES["lambda_request"],
        "Lambda duration": million * billed_ms / 1000 * gb * gb_s_price,
        "Lambda cold-start INIT": million * COLD_FRACTION * init_ms / 1000 * gb * gb_s_price,
        "DynamoDB writes": million
        * (w.billed_per_object("write_units") + w.billed_per_object("index_write_units"))
        * PRICES["dynamodb_wru"],
        "EventBridge events": million * w.billed_per_object("event_chunks") * PRICES["eventbridge_event"],
        "CloudWatch Logs ingestion": million * log_bytes / 1024**3 * PRICES["logs_gb"],
        "Lambda Insights log events": million * INSIGHTS_EVENT_BYTES / 1024**3 * PRICES["logs_gb"]
        if design.lambda_insights
        else 0.0,
    }
    return Bill(design, duration_ms, lines)


def table(bills: list[Bill]) -> Table:
    names = [f"{b.design.label} ({b.design.architecture}, {b.design.memory_mb} MB)" for b in bills]
    headers = ["cost per million objects", *names]
    if len(bills) == 2:
        headers.append("ours / reference")
    t = Table("Cost per million objects on AWS (us-east-1 on-demand prices)", headers)
    for line in bills[0].lines:
        cells = [usd(b.lines[line]) for b in bills]
        if len(bills) == 2:
            a, b = bills[0].lines[line], bills[1].lines[line]
            cells.append(x(ratio(a, b)) if a and b else "only " + (bills[0] if a else bills[1]).design.label)
        t.add(line, *cells)
    totals = [usd(b.total) for b in bills]
    t.add("total", *totals, *([x(ratio(bills[0].total, bills[1].total))] if len(bills) == 2 else []))
    t.add(
        "modelled warm duration",
        *(f"{b.duration_ms:.0f} ms" for b in bills),
        *([""] if len(bills) == 2 else []),
    )
    t.notes.append(f"Assumptions: {ASSUMPTIONS}")
    t.notes.append(f"Prices: {PRICES_TEXT}. Sources: {PRICE_SOURCES}.")
    return t


PRICES_TEXT = (
    "Lambda $0.20 per million requests, $0.0000133334 per GB-s on arm64 and $0.0000166667 on x86_64; "
    "DynamoDB on-demand $0.625 per million write request units (1 KB each; a write that changes "
    "an item's entry in a secondary index, its keys or projected attributes, is paid again for the "
    "index, modelled from each design's index definition); EventBridge $1.00 per million custom "
    "events, each 64 KB chunk of an entry counted as one; CloudWatch Logs $0.50 per GB ingested"
)


def usd_total(b: Bill) -> str:
    return usd(b.total)
