"""S3 notifications the CLI sends itself: an object version handed to the processor again
(the demo's redelivery, ``backfill``), built by the emulator's one builder with the CLI as
the sender."""

from __future__ import annotations

from typing import Any

from s3flow.local import s3_record

_CLI_SENDER: dict[str, Any] = {
    "principal": "AWS:s3flow-cli",
    "source_ip": "127.0.0.1",
    "request_id": "s3flowcli",
    "host_id": "s3flowcli",
    "owner": "s3flow",
}


def cli_record(*, configuration_id: str = "s3flow-cli", **facts: Any) -> dict[str, Any]:
    """One S3 record of an existing object version (``bucket``, ``region``, ``key``, ``size``,
    ``event_time`` and optionally ``version_id``, ``etag``, ``sequencer``, ``event_name``)."""
    return s3_record(configuration_id=configuration_id, **_CLI_SENDER, **facts)
