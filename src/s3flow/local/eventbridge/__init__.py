"""EventBridge, locally: ``PutEvents`` answered in the server's middleware and delivered to
the rules' targets as AWS delivers them (``delivery``)."""

from __future__ import annotations

from s3flow.local.eventbridge.delivery import Delivery, EventRouter

__all__ = ["Delivery", "EventRouter"]
