"""SQS: every queue's messages, in order, with their ids, bodies, attributes and counts.

A message received and not yet deleted (in flight) is kept with the time it becomes visible
again, so after a restart it returns when its visibility timeout ends, as on AWS. Put back
straight into moto's queue: nothing is sent, so no consumer or redrive is triggered.
Not kept: receipt handles (a handle from before the restart no longer deletes its message).
"""

from __future__ import annotations

from typing import Any

FIELDS = (
    "sent_timestamp",
    "approximate_first_receive_timestamp",
    "approximate_receive_count",
    "deduplication_id",
    "group_id",
    "sequence_number",
    "visible_at",
    "delayed_until",
    "sender_id",
)


def _backend(account: str, region: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[account][region]


def export(account: str, region: str) -> dict[str, Any]:
    """{queue name: [message, ...]} of every queue in the emulator."""
    queues: dict[str, Any] = {}
    for name, queue in list(_backend(account, region).queues.items()):
        queues[name] = [
            {
                "id": message.id,
                "body": message.body,
                "message_attributes": message.message_attributes,
                "system_attributes": message.system_attributes,
                **{field: getattr(message, field) for field in FIELDS},
            }
            for message in list(queue._messages)
        ]
    return queues


def restore(account: str, region: str, saved: dict[str, Any]) -> list[str]:
    from moto.sqs.models import Message

    backend = _backend(account, region)
    missing: list[str] = []
    for name, messages in saved.items():
        queue = backend.queues.get(name)
        if queue is None:
            if messages:
                missing.append(f"queue {name} (messages: {len(messages)})")
            continue
        restored = []
        for entry in messages:
            message = Message(entry["id"], entry["body"], entry.get("system_attributes") or {})
            message.message_attributes = entry.get("message_attributes") or {}
            for field in FIELDS:
                if field in entry:
                    setattr(message, field, entry[field])
            restored.append(message)
        with queue._messages_lock:
            queue._messages.extend(restored)
    return missing
