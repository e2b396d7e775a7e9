"""EventBridge, locally: ``PutEvents`` answered in the server's middleware (``put_events``:
the request's checks and the event built from each entry) and delivered to the rules'
targets as AWS delivers them (``delivery``; each target's input: ``input_transformer``)."""

from __future__ import annotations

from s3flow.local.eventbridge.delivery import Delivery, EventRouter

__all__ = ["Delivery", "EventRouter"]
