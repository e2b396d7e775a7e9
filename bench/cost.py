"""5. Cost per million objects on AWS, from what the functions were measured to do.

S3 notifications carry one record per event, so a million objects is a million processor
invocations; the per-object figures come from the 1-record warm runs. Ours has a second
function, the publisher, invoked once per stream batch: a million objects is a million
publisher invocations when every batch holds one record (a quiet table) and ten thousand
when every batch is full (``contract.PUBLISHER_BATCH_SIZE`` records: a busy one); both are
priced. Prices are the published on-demand prices in us-east-1 (see ``PRICES``); what
could not be measured locally is an assumption, listed in ``ASSUMPTIONS`` and printed
with the table.
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
    "https://aws.amazon.com/lambda/pricing/, https://aws.amazon.com/dynamodb/pricing/on-demand/ "
    "(DynamoDB Streams section), https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
    'CostOptimization_StreamsUsage.html ("Read requests made by AWS Lambda-based consumers of DynamoDB '
    'Streams are free"), https://aws.amazon.com/eventbridge/pricing/, https://aws.amazon.com/cloudwatch/pricing/'
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
    f"{COLD_FRACTION:.0%} of each function's invocations are cold starts, whose import and first event "
    "(CPU time, scaled the same way) are billed "
    f"(INIT is billed since August 2025); Lambda adds {PLATFORM_LOG_BYTES} bytes of platform log lines per "
    f"invocation; every published event is delivered by a rule to the log group with a "
    f"{RULE_ENVELOPE_BYTES}-byte envelope; the reference design's Lambda Insights layer writes a "
    f"{INSIGHTS_EVENT_BYTES}-byte log event per invocation (its extension's own run time is left out). "
    "X-Ray is left out: both trace every sampled invocation alike (ours adds one `publish_event` span per "
    "object to the object's trace)."
)


@dataclass(frozen=True)
class Function:
    label: str
    warm: SizeResult  # what it did per object, measured warm
    invocations_per_object: float
    cold_cpu_ms: float  # CPU time of import + first event, measured here


@dataclass(frozen=True)
class Design:
    label: str
    architecture: str  # "arm64" or "x86_64"
    memory_mb: int
    functions: tuple[Function, ...]
    lambda_insights: bool = False


@dataclass(frozen=True)
class Bill:
    design: Design
    duration_ms: dict[str, float]  # modelled warm duration per invocation on Lambda, per function
    lines: dict[str, float]  # dollars per million objects

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def bill(design: Design) -> Bill:
    cpu_scale = FULL_VCPU_MB / design.memory_mb
    gb_s = design.memory_mb / 1024 * PRICES[f"lambda_gb_s_{design.architecture}"]
    million = 1e6
    durations: dict[str, float] = {}
    requests = duration = init = write_units = events = log_bytes = 0.0
    for f in design.functions:
        w, per_object = f.warm, f.invocations_per_object
        wait_ms = sum(n * CALL_MS.get(name.split(":")[0], 10.0) for name, n in w.calls_by_operation().items())
        invocation_ms = (w.per_object("cpu_ms") * cpu_scale + wait_ms) / per_object
        durations[f.label] = invocation_ms
        requests += per_object
        duration += per_object * -(-invocation_ms // 1) / 1000 * gb_s  # billed in 1 ms steps, rounded up
        init += per_object * COLD_FRACTION * f.cold_cpu_ms * cpu_scale / 1000 * gb_s
        write_units += w.billed_per_object("write_units") + w.billed_per_object("index_write_units")
        events += w.billed_per_object("event_chunks")
        entries = w.billed_per_object("event_entries")
        routed = w.billed_per_object("event_bytes") + entries * RULE_ENVELOPE_BYTES
        log_bytes += w.per_object("log_bytes") + per_object * PLATFORM_LOG_BYTES + routed
    insights = requests * INSIGHTS_EVENT_BYTES if design.lambda_insights else 0.0
    lines = {
        "Lambda requests": million * requests * PRICES["lambda_request"],
        "Lambda duration": million * duration,
        "Lambda cold-start INIT": million * init,
        "DynamoDB writes": million * write_units * PRICES["dynamodb_wru"],
        "DynamoDB Streams reads (Lambda trigger: free)": 0.0,
        "EventBridge events": million * events * PRICES["eventbridge_event"],
        "CloudWatch Logs ingestion": million * log_bytes / 1024**3 * PRICES["logs_gb"],
        "Lambda Insights log events": million * insights / 1024**3 * PRICES["logs_gb"],
    }
    return Bill(design, durations, lines)


def table(bills: list[Bill]) -> Table:
    """The last bill is the reference; every other one gets a ratio column against it."""
    *ours, reference = bills
    headers = ["cost per million objects", *(f"{b.design.label} ({b.design.architecture}, "
               f"{b.design.memory_mb} MB)" for b in bills)]  # fmt: skip
    headers += [f"{b.design.label} / reference" for b in ours]
    t = Table("Cost per million objects on AWS (us-east-1 on-demand prices)", headers)
    for line in bills[0].lines:
        cells = [usd(b.lines[line]) for b in bills]
        t.add(line, *cells, *(_ratio(b.lines[line], reference.lines[line]) for b in ours))
    t.add("total", *(usd(b.total) for b in bills), *(x(ratio(b.total, reference.total)) for b in ours))
    t.add(
        "modelled warm duration per invocation",
        *("; ".join(f"{name} {v:.0f} ms" for name, v in b.duration_ms.items()) for b in bills),
        *([""] * len(ours)),
    )
    t.add(
        "Lambda invocations per object",
        *(" + ".join(f"{f.invocations_per_object:.2f}" for f in b.design.functions) for b in bills),
        *([""] * len(ours)),
    )
    t.notes.append(f"Assumptions: {ASSUMPTIONS}")
    t.notes.append(f"Prices: {PRICES_TEXT}. Sources: {PRICE_SOURCES}.")
    return t


def _ratio(a: float, b: float) -> str:
    if a and b:
        return x(ratio(a, b))
    return "only ours" if a else ("only reference" if b else "")


PRICES_TEXT = (
    "Lambda $0.20 per million requests, $0.0000133334 per GB-s on arm64 and $0.0000166667 on x86_64; "
    "DynamoDB on-demand $0.625 per million write request units (1 KB each; a write that changes "
    "an item's entry in a secondary index, its keys or projected attributes, is paid again for the "
    "index, modelled from each design's index definition); EventBridge $1.00 per million custom "
    "events, each 64 KB chunk of an entry counted as one; CloudWatch Logs $0.50 per GB ingested; "
    "DynamoDB Streams: GetRecords calls made by Lambda for a DynamoDB trigger (our publisher's event "
    "source mapping) are not charged, only other consumers' reads are"
)


def usd_total(b: Bill) -> str:
    return usd(b.total)
