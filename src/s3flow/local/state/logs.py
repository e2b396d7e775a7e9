"""CloudWatch Logs: every log group's streams and their events (timestamp, ingestion time,
message), in order.

A group the template does not create (Lambda's ``/aws/lambda/…``, made on a function's first
line) is created again. Events are put back straight into moto's streams, so no
subscription filter sees them twice. Not kept: event ids (moto numbers events per process;
``FilterLogEvents`` gives restored events new ones).
"""

from __future__ import annotations

from typing import Any

from s3flow.local.state.times import epoch, naive_utc


def _backend(account: str, region: str) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[account][region]


def export(account: str, region: str) -> dict[str, Any]:
    """{group: {stream: {"created": s, "events": [[timestamp ms, ingestion ms, message], ...]}}}."""
    groups: dict[str, Any] = {}
    for name, group in list(_backend(account, region).groups.items()):
        groups[name] = {
            stream_name: {
                "created": epoch(stream.creation_time),
                "events": [
                    [event.timestamp, event.ingestion_time, event.message] for event in list(stream.events)
                ],
            }
            for stream_name, stream in list(group.streams.items())
        }
    return groups


def restore(account: str, region: str, saved: dict[str, Any]) -> list[str]:
    from moto.logs.models import LogEvent

    backend = _backend(account, region)
    for name, streams in saved.items():
        if name not in backend.groups:
            backend.create_log_group(name, {})
        group = backend.groups[name]
        for stream_name, content in streams.items():
            if stream_name not in group.streams:
                group.create_log_stream(stream_name)
            stream = group.streams[stream_name]
            stream.creation_time = naive_utc(content["created"]) or stream.creation_time
            events = [
                LogEvent(ingestion, {"timestamp": timestamp, "message": message})
                for timestamp, ingestion, message in content["events"]
            ]
            stream.events = events + stream.events
            stream.stored_bytes = sum(len(event.message) for event in stream.events)
            if events:
                stream.last_ingestion_time = naive_utc(max(event.ingestion_time for event in events) / 1000)
                stream.upload_sequence_token += 1
    return []
