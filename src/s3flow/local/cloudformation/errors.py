"""Errors of local provisioning: one base class, one subclass per thing that can go wrong."""

from __future__ import annotations

from pathlib import Path

from s3flow.local.errors import LocalError


class ProvisionError(LocalError):
    """Base error of local provisioning."""


class TemplateNotFoundError(ProvisionError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"no synthesized template at {path}")
        self.path = path


class TemplateError(ProvisionError):
    """The template uses something this resolver cannot evaluate."""


class UnsupportedResourceError(ProvisionError):
    def __init__(self, resource_type: str, logical_id: str, detail: str = "") -> None:
        message = f"resource type {resource_type} ({logical_id}) is not supported locally"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.resource_type = resource_type
        self.logical_id = logical_id


class StackExistsError(ProvisionError):
    def __init__(self, stack_name: str, endpoint_url: str) -> None:
        super().__init__(f"stack {stack_name} is already provisioned on {endpoint_url}")
        self.stack_name = stack_name
