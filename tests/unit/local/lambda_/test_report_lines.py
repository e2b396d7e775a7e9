"""Lambda's START / END / REPORT lines of an invocation (``invocation.report_lines``), in the
field order of https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html."""

from __future__ import annotations

from s3flow.local.deployment import FunctionSpec
from s3flow.local.lambda_.invocation import Invocation, report_lines
from s3flow.local.lambda_.sandbox import Outcome

FUNCTION = FunctionSpec(
    logical_id="Fn",
    name="fn",
    arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
    handler="h.handler",
    runtime="python3.13",
    timeout_seconds=3,
    memory_mb=256,
    environment={},
    tracing_active=False,
)


def invocation() -> Invocation:
    return Invocation(function=FUNCTION, event={}, request_id="r-1")


def test_a_cold_start_reports_memory_used_before_the_init_duration() -> None:
    outcome = Outcome(True, None, 10.0, 10.01574, init=(9.8, 9.93049), max_memory_mb=56)

    assert report_lines(invocation(), outcome) == [
        "START RequestId: r-1 Version: $LATEST",
        "END RequestId: r-1",
        "REPORT RequestId: r-1\tDuration: 15.74 ms\tBilled Duration: 16 ms\tMemory Size: 256 MB"
        "\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms",
    ]


def test_an_invocation_out_of_memory_reports_its_status_and_error_after_the_report() -> None:
    error = "RequestId: r-1 Error: Runtime exited with error: signal: killed"
    payload = {"errorType": "Runtime.OutOfMemory", "errorMessage": error, "requestId": "r-1"}
    outcome = Outcome(False, payload, 10.0, 10.5, max_memory_mb=256)

    _, _, report, error_line = report_lines(invocation(), outcome)

    assert report == (
        "REPORT RequestId: r-1\tDuration: 500.00 ms\tBilled Duration: 500 ms\tMemory Size: 256 MB"
        "\tMax Memory Used: 256 MB\tStatus: error\tError Type: Runtime.OutOfMemory"
    )
    assert error_line == f"{error}\nRuntime.OutOfMemory"


def test_a_function_error_reports_no_status() -> None:
    outcome = Outcome(
        False, {"errorType": "ValueError", "errorMessage": "bad"}, 10.0, 10.002, max_memory_mb=40
    )

    assert report_lines(invocation(), outcome)[2].endswith("\tMemory Size: 256 MB\tMax Memory Used: 40 MB")
