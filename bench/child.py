"""Runs in a fresh interpreter: imports one side's handler and serves events, timed.

Started by ``bench.runner`` as ``python -m bench.child <spec.json>``; never imported by the parent.
Only modules both handlers load anyway are imported before the clock starts, so the import time
measured is the handler's own. Results go to the spec's ``output`` file; stdout and stderr are the
function's log stream (the parent points them at a file and counts the bytes, as CloudWatch would).
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402 - both handlers import json; loading it first costs neither side
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

    from bench.stream import StreamReader

# Lambda's runtime id column: a fixed-width stand-in for the request id.
LOG_FORMAT = "[%(levelname)s]\t%(asctime)s\t00000000-0000-0000-0000-000000000000\t%(message)s"


class LambdaContext:
    def __init__(self, function_name: str, memory_mb: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = os.urandom(16).hex()
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/01/01/[$LATEST]bench"
        self._deadline = time.monotonic() + 300

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def new_trace_header(sampled: bool = True) -> str:
    flag = "1" if sampled else "0"
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled={flag}"


def setup_lambda_logging() -> None:
    # Lambda's runtime gives the root logger a handler writing to the log stream; its level
    # stays WARNING unless the function changes it.
    import logging

    logging.basicConfig(format=LOG_FORMAT, stream=sys.stderr)


def log_bytes() -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    return os.fstat(1).st_size


def load_handler(module: str) -> Any:
    import importlib

    return importlib.import_module(module).handler


def peak_rss_mb() -> float:
    # Not getrusage's ru_maxrss: Linux carries it over from the forking parent across exec.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cold(spec: dict[str, Any]) -> dict[str, Any]:
    setup_lambda_logging()
    begin, begin_cpu = time.perf_counter(), time.process_time()
    handler = load_handler(spec["module"])
    imported = time.perf_counter()
    os.environ["_X_AMZN_TRACE_ID"] = new_trace_header(spec.get("sampled", True))
    context = LambdaContext(spec["function_name"], spec["memory_mb"])
    response = handler(spec["event"], context)
    served, served_cpu = time.perf_counter(), time.process_time()
    return {
        "cold_cpu_ms": (served_cpu - begin_cpu) * 1000,
        "interpreter_ms": (begin - STARTED) * 1000,
        "import_ms": (imported - begin) * 1000,
        "first_invoke_ms": (served - imported) * 1000,
        "peak_rss_mb": peak_rss_mb(),
        "response": _summary(response),
        "modules": len(sys.modules),
    }


class CallCounter:
    """Counts, times and bills the AWS API calls the handler makes, through either kind of client.

    botocore clients (the reference's boto3, our S3 reads) through their ``before-call`` hooks;
    our standard-library ``JsonApiClient`` by wrapping its ``call``. Both are patched at class
    level here, before the handler is imported, so every client it builds is seen.
    """

    def __init__(self, index: dict[str, Any]) -> None:
        from bench.index_model import IndexCounter  # warm runs only: nothing extra before a cold start

        self.calls: dict[str, int] = {}
        self.call_ms: dict[str, float] = {}  # the call as the caller sees it: signing, HTTP, retries, parsing
        self._started: list[float] = []
        # What AWS bills beyond the request: items written, events published (per 64 KB chunk).
        self.billed: dict[str, int] = {}
        self.enabled = True
        self.index = IndexCounter.from_spec(index)
        self._count_botocore()
        self._count_json_api()

    def _count_botocore(self) -> None:
        import botocore.client

        original = botocore.client.ClientCreator.create_client
        counter = self

        def create_client(creator: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(creator, *args, **kwargs)
            if counter.enabled:
                client.meta.events.register("before-call", counter.on_call)
                client.meta.events.register("after-call", counter.on_return)
                client.meta.events.register("before-parameter-build", counter.on_params)
            return client

        botocore.client.ClientCreator.create_client = create_client  # type: ignore[method-assign]

    def _count_json_api(self) -> None:
        try:
            from s3flow.functions.shared.aws_api import client as aws_api
        except ImportError:  # a tree from before the standard-library client
            return
        original = aws_api.JsonApiClient.call
        counter = self

        # Named as JsonApiClient.call's own parameters, so it type-checks as that method.
        def call(self: aws_api.JsonApiClient, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            if not counter.enabled:
                return original(self, operation, params)
            name = f"{self.service.signing_name}:{operation}"
            counter.calls[name] = counter.calls.get(name, 0) + 1
            items = _written_items(operation, params)
            counter.bill_request(operation, params)
            # Unless the call returns, nothing was written: an ``ApiCallError`` (a duplicate's
            # conditional put, ConditionalCheckFailedException) is botocore's parsed "Error".
            parsed: dict[str, Any] = {"Error": {}}
            started = time.perf_counter()
            try:
                parsed = original(self, operation, params)
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                counter.call_ms[name] = counter.call_ms.get(name, 0.0) + elapsed
                if items is not None:
                    counter._index(items, parsed)
            return parsed

        aws_api.JsonApiClient.call = call  # type: ignore[method-assign]

    def on_call(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}:{model.name}"
        self.calls[name] = self.calls.get(name, 0) + 1
        self._started.append(time.perf_counter())

    def on_return(self, model: Any, parsed: Any = None, context: Any = None, **_: Any) -> None:
        if self._started:
            name = f"{model.service_model.service_name}:{model.name}"
            elapsed = (time.perf_counter() - self._started.pop()) * 1000
            self.call_ms[name] = self.call_ms.get(name, 0.0) + elapsed
        items = (context or {}).pop(_INDEX_ITEMS, None)
        if items is not None and self.enabled:
            self._index(items, parsed if isinstance(parsed, dict) else {})

    def on_params(self, params: dict[str, Any], model: Any, context: Any = None, **_: Any) -> None:
        items = _written_items(model.name, params)
        if items is not None and context is not None:
            context[_INDEX_ITEMS] = items
        self.bill_request(model.name, params)

    def bill_request(self, operation: str, params: dict[str, Any]) -> None:
        """What a request bills whatever its outcome: item writes, event entries."""
        if operation == "PutEvents":
            for entry in params.get("Entries", []):
                size = sum(len(str(entry.get(k, "")).encode()) for k in ("Source", "DetailType", "Detail"))
                size += sum(len(r.encode()) for r in entry.get("Resources", []))
                self._bill("event_entries", 1)
                self._bill("event_chunks", -(-size // 65536))
                self._bill("event_bytes", size)
        elif operation == "PutItem":
            self._write(params.get("Item", {}))
        elif operation in ("UpdateItem", "DeleteItem"):
            self._write({})
        elif operation == "BatchWriteItem":
            for requests in params.get("RequestItems", {}).values():
                for request in requests:
                    self._write(request.get("PutRequest", {}).get("Item", {}))

    def _write(self, item: dict[str, Any]) -> None:
        """One item write to the table: 1 WRU per started KB (a failed conditional write too)."""
        size = _item_size(item)
        self._bill("item_writes", 1)
        self._bill("item_bytes", size)
        self._bill("write_units", _units(size))
        if not item:  # UpdateItem/DeleteItem: what changes is not known here; assume the index is written
            self._bill("index_writes", 1)
            self._bill("index_write_units", 1)

    def _index(self, items: list[dict[str, Any]], parsed: dict[str, Any]) -> None:
        """Index writes of a write that succeeded: only what changed an index entry (``IndexCounter``)."""
        if "Error" in parsed:
            return  # e.g. the conditional put of a duplicate: nothing was written
        unprocessed = [
            request.get("PutRequest", {}).get("Item")
            for requests in (parsed.get("UnprocessedItems") or {}).values()
            for request in requests
        ]
        for item in items:
            if item in unprocessed:
                continue
            for entry in self.index.written(item):
                self._bill("index_writes", 1)
                self._bill("index_write_units", _units(_item_size(entry)))

    def _bill(self, name: str, amount: int) -> None:
        self.billed[name] = self.billed.get(name, 0) + amount


class Phase:
    """What one function did over a block: time, calls, billed units and log bytes, summed."""

    def __init__(self) -> None:
        self.invocations = 0
        self.objects = 0
        self.wall = self.cpu = 0.0
        self.calls: dict[str, int] = {}
        self.billed: dict[str, int] = {}
        self.call_ms: dict[str, float] = {}
        self.log_bytes = 0
        self.errors: list[str] = []
        self.error_count = 0

    def run(self, counter: CallCounter, handler: Any, event: Any, context: Any, objects: int) -> Any:
        """One invocation, its calls counted into this phase (the counter's dicts are swapped in)."""
        counter.calls, counter.billed, counter.call_ms = self.calls, self.billed, self.call_ms
        os.environ["_X_AMZN_TRACE_ID"] = new_trace_header()
        logs_before = log_bytes()
        t, c = time.perf_counter(), time.process_time()
        response = None
        try:
            response = handler(event, context)
        except Exception as error:  # the benchmark reports failures instead of stopping
            self.errors.append(f"{type(error).__name__}: {error}")
            self.error_count += 1
        self.wall += time.perf_counter() - t
        self.cpu += time.process_time() - c
        self.log_bytes += log_bytes() - logs_before
        self.invocations += 1
        self.objects += objects
        if isinstance(response, dict) and response.get("batchItemFailures"):
            self.errors.append(f"batchItemFailures: {response['batchItemFailures']}")
            self.error_count += 1
        return response

    def as_dict(self) -> dict[str, Any]:
        return {
            "invocations": self.invocations,
            "objects": self.objects,
            "wall_ms": self.wall * 1000,
            "cpu_ms": self.cpu * 1000,
            "calls": dict(self.calls),
            "billed": dict(self.billed),
            "call_ms": dict(self.call_ms),
            "log_bytes": self.log_bytes,
            "items_written": 0,
            "errors": self.errors[:3],
            "error_count": self.error_count,
        }


def warm(spec: dict[str, Any]) -> dict[str, Any]:
    """Serves the blocks warm; with a ``publisher`` in the spec, feeds it the stream records too.

    The publisher gets each invocation's stream records as one batch right after it (the
    batch a quiet stream delivers) and, at the end of the block, all of them again in batches
    of ``batch_size`` (what a busy stream delivers): two alternatives for the same records,
    each publishing them once. Both functions run in this one process, but their time, calls
    and log bytes are counted apart, phase by phase.
    """
    setup_lambda_logging()
    counter = CallCounter(spec["index"])
    handler = load_handler(spec["module"])
    publisher_spec: dict[str, Any] = spec.get("publisher") or {}  # empty: no publisher in this run
    os.environ.update(publisher_spec["env"] if publisher_spec else {})
    publish = load_handler(publisher_spec["module"]) if publisher_spec else None
    counter.enabled = False
    table = _item_counter(spec)
    stream = _stream_reader(spec) if publisher_spec else None
    counter.enabled = True
    context = LambdaContext(spec["function_name"], spec["memory_mb"])
    Phase().run(counter, handler, spec["warmup_event"], context, 1)  # the container is warm from here on
    if publish is not None and stream is not None:
        publisher_context = LambdaContext(publisher_spec["function_name"], spec["memory_mb"])
        Phase().run(counter, publish, {"Records": stream.new_records()}, publisher_context, 1)
    results = []
    for block in spec["blocks"]:
        processor, per_event, full = Phase(), Phase(), Phase()
        items_before = table()
        pooled: list[dict[str, Any]] = []
        for event in block["events"]:
            context = LambdaContext(spec["function_name"], spec["memory_mb"])
            processor.run(counter, handler, event, context, len(event["Records"]))
            if publish is not None and stream is not None:
                records = stream.new_records()
                pooled.extend(records)
                if records:
                    context = LambdaContext(publisher_spec["function_name"], spec["memory_mb"])
                    per_event.run(counter, publish, {"Records": records}, context, len(records))
        if publish is not None:
            size = int(publisher_spec["batch_size"])
            # The same records, as a second container would get them: the publisher remembers the
            # event ids it saw published (to skip a retried batch's), so they get new ones here.
            pooled = [{**record, "eventID": os.urandom(16).hex()} for record in pooled]
            for start in range(0, len(pooled), size):
                batch = pooled[start : start + size]
                context = LambdaContext(publisher_spec["function_name"], spec["memory_mb"])
                full.run(counter, publish, {"Records": batch}, context, len(batch))
        result = {"records": block["records"], **processor.as_dict(), "items_written": table() - items_before}
        if publish is not None:
            result["publisher"] = {"per_event": per_event.as_dict(), "full": full.as_dict()}
        results.append(result)
    return {"blocks": results, "peak_rss_mb": peak_rss_mb()}


def _stream_reader(spec: dict[str, Any]) -> StreamReader:
    import boto3

    from bench.stream import StreamReader

    endpoint = os.environ.get("AWS_ENDPOINT_URL")  # explicit: dynamodbstreams has no account endpoint
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint)
    reader = StreamReader(dynamodb, streams, spec["table_name"])
    reader.new_records()  # skip what earlier runs wrote
    return reader


_INDEX_ITEMS = "bench_index_items"  # request-context key: the items a write sends, for after-call


def _written_items(operation: str, params: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The items a write request puts (to bill their index entries once it succeeds); None: not a put."""
    if operation == "PutItem":
        return [params.get("Item", {})]
    if operation == "BatchWriteItem":
        return [
            request.get("PutRequest", {}).get("Item", {})
            for requests in params.get("RequestItems", {}).values()
            for request in requests
        ]
    return None


def _item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _units(size: int) -> int:
    return max(1, -(-size // 1024))


def _value_size(value: Any) -> int:
    """DynamoDB's size of an attribute value in wire form (close enough for strings and numbers)."""
    if isinstance(value, dict):
        return sum(_value_size(v) for v in value.values())
    if isinstance(value, list):
        return sum(_value_size(v) for v in value)
    if isinstance(value, str | bytes):
        return len(value.encode() if isinstance(value, str) else value)
    return 1 if isinstance(value, bool) or value is None else len(str(value))


def _item_counter(spec: dict[str, Any]) -> Callable[[], int]:
    import boto3

    dynamodb = boto3.client("dynamodb")

    def count() -> int:
        total, start = 0, None
        while True:
            extra: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            page = dynamodb.scan(TableName=spec["table_name"], Select="COUNT", **extra)
            total += page["Count"]
            start = page.get("LastEvaluatedKey")
            if not start:
                return total

    return count


def _summary(response: Any) -> Any:
    text = json.dumps(response, default=str)
    return text if len(text) < 400 else text[:400] + "..."


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    result = cold(spec) if spec["mode"] == "cold" else warm(spec)
    with open(spec["output"], "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
