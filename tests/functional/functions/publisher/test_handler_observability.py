"""The publisher handler on moto: its logs, EMF metrics, configuration and X-Ray trace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from s3flow import contract
from s3flow.functions.publisher import handler as publish_handler
from s3flow.functions.shared.errors import ConfigurationError
from support.functions import emf_problems, stdout_documents
from support.stream_records import TRACE, inserts, object_item, sequence, stream_record

from .handler_support import (
    CONTEXT,
    NO_FAILURES,
    delivered_keys,
    invoke,
)


def test_a_record_that_cannot_be_published_is_logged_counted_and_passed_over(aws, put_events, capsys) -> None:
    good = inserts(3)
    broken = json.loads(json.dumps(good[1]))
    del broken["dynamodb"]["NewImage"]

    response = invoke(good[0], broken, good[2])

    assert response == NO_FAILURES
    assert delivered_keys(aws) == ["batch/file-0.csv", "batch/file-2.csv"]
    lines, [document] = stdout_documents(capsys.readouterr().out)
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["sequenceNumber"] == sequence(1)
    assert error["keys"] == broken["dynamodb"]["Keys"]
    assert "without NewImage" in error["message"]
    assert document[contract.METRIC_UNPUBLISHABLE_RECORDS] == 1
    assert document[contract.METRIC_EVENTS_PUBLISHED] == 2


def test_one_valid_emf_document_per_invocation(aws, put_events, capsys, monkeypatch) -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace)

    invoke(*inserts(3), stream_record("REMOVE", 9, old=object_item("x")))

    lines, [document] = stdout_documents(capsys.readouterr().out)
    assert emf_problems(document) == []
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == contract.METRICS_NAMESPACE
    assert directive["Dimensions"] == [[contract.METRICS_DIMENSION_ENVIRONMENT]]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        contract.METRIC_EVENTS_PUBLISHED: "Count",
        contract.METRIC_UNPUBLISHABLE_RECORDS: "Count",
    }
    assert document[contract.METRIC_EVENTS_PUBLISHED] == 3
    assert document[contract.METRIC_UNPUBLISHABLE_RECORDS] == 0
    assert document["Environment"] == "test"
    assert document["functionName"] == "s3-event-publisher-test"
    assert document["traceId"] == "1-5759e988-bd862e3fe1be46a994272793"
    # A clean batch writes its EMF line only: the summary is a DEBUG line.
    assert [line for line in lines if line["message"] == "stream batch handled"] == []


def test_a_batch_with_failures_says_so_in_an_info_summary(aws, put_events, capsys) -> None:
    put_events.fail = lambda key, call: key == "batch/file-1.csv"  # past every retry

    response = invoke(*inserts(3))

    lines, _ = stdout_documents(capsys.readouterr().out)
    [summary] = [line for line in lines if line["message"] == "stream batch handled"]
    assert summary["level"] == "INFO"
    assert summary["summary"] == {"records": 3, "published": 2, "skipped": 0, "unpublishable": 0,
                                  "failed": 1, "retained": 0, "calls": 4}  # fmt: skip
    assert summary["requestId"] == CONTEXT.aws_request_id
    assert summary["batchItemFailures"] == response["batchItemFailures"] == [{"itemIdentifier": sequence(1)}]


def test_needs_no_table_and_makes_no_dynamodb_call(aws, put_events, api_calls) -> None:
    invoke(*inserts(2))

    assert {(call.service, call.operation) for call in api_calls.calls} == {("events", "PutEvents")}
    assert not hasattr(publish_handler.publisher_dependencies(), "dynamodb")


def test_missing_bus_fails_loudly_and_still_writes_metrics(aws, put_events, capsys, monkeypatch) -> None:
    monkeypatch.delenv(contract.ENV_EVENT_BUS_NAME)
    publish_handler.publisher_dependencies.cache_clear()

    with pytest.raises(ConfigurationError, match=contract.ENV_EVENT_BUS_NAME):
        invoke(*inserts(1))

    _, [document] = stdout_documents(capsys.readouterr().out)
    assert emf_problems(document) == []
    assert document[contract.METRIC_EVENTS_PUBLISHED] == 0


PUBLISHER_TRACE = "Root=1-6759e988-00000000000000000000000b;Parent=63995c3f42cd8ad9;Sampled=1"


def test_a_sampled_invocation_traces_each_putevents_call_under_publish_events(
    aws, put_events, daemon, monkeypatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", PUBLISHER_TRACE)
    put_events.fail = lambda key, call: key == "batch/file-11.csv"

    response = invoke(*inserts(12))

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(11)}]}
    publisher_trace = "1-6759e988-00000000000000000000000b"
    documents = [d for d in daemon.documents() if d["trace_id"] == publisher_trace]
    [publish] = [d for d in documents if d["name"] == "publish_events"]
    assert publish["trace_id"] == "1-6759e988-00000000000000000000000b"
    assert publish["parent_id"] == "63995c3f42cd8ad9"
    assert publish["fault"] is True
    calls = sorted((d for d in documents if d["name"] == "EventBridge"), key=lambda d: d["start_time"])
    assert [d["aws"]["operation"] for d in calls] == ["PutEvents", "PutEvents"]  # one per chunk
    assert {d["parent_id"] for d in calls} == {publish["id"]}
    assert "fault" not in calls[0] and calls[1]["fault"] is True
    assert "InternalFailure" in calls[1]["cause"]["exceptions"][0]["message"]
    # The events continue the processor's trace (the record's), not the publisher's.
    assert {entry["TraceHeader"] for entries in put_events.entries for entry in entries} == {TRACE}


def test_each_published_event_shows_in_its_objects_own_trace(aws, put_events, daemon) -> None:
    other = "Root=1-6759e988-bd862e3fe1be46a994272794;Parent=63995c3f42cd8ad8;Sampled=1"
    unsampled = "Root=1-6759e988-bd862e3fe1be46a994272795;Parent=63995c3f42cd8ad7;Sampled=0"
    items = [object_item("a"), object_item("b", trace=other), object_item("c", trace=unsampled)]
    put_events.fail = lambda key, call: key == "a" and call == 1  # a's entry goes out on the retry

    invoke(*[stream_record("INSERT", position, new=item) for position, item in enumerate(items)])

    documents = daemon.documents()
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        by_trace.setdefault(document["trace_id"], []).append(document)
    assert set(by_trace) == {"1-5759e988-bd862e3fe1be46a994272793", "1-6759e988-bd862e3fe1be46a994272794"}
    for root, parent in (("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8"),
                         ("1-6759e988-bd862e3fe1be46a994272794", "63995c3f42cd8ad8")):  # fmt: skip
        [publish] = [d for d in by_trace[root] if d["name"] == "publish_event"]
        [call] = [d for d in by_trace[root] if d["name"] == "EventBridge"]
        assert publish["parent_id"] == parent  # under the processor's function segment
        assert call["parent_id"] == publish["id"] and call["aws"]["operation"] == "PutEvents"
        assert publish["start_time"] <= call["start_time"] <= call["end_time"] <= publish["end_time"]
