"""Accepted security-scan findings: each is acknowledged next to its resource, with why."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def accept(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (``"AwsSolutions-IAM5[Resource::*]"``) on ``scope``."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
