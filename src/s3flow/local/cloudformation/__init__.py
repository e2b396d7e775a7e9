"""The local emulator's CloudFormation: a synthesized template, provisioned on moto.

:mod:`.template` resolves and orders (intrinsics, pseudo parameters, conditions),
:mod:`.stack` provisions and registers the stack, and :mod:`.resources` holds one module per
service that knows its resource types, their properties and how to create them.
"""

from __future__ import annotations

from s3flow.local.cloudformation.errors import (
    ProvisionError,
    StackExistsError,
    TemplateError,
    TemplateNotFoundError,
    UnsupportedResourceError,
)
from s3flow.local.cloudformation.stack import load_template, provision, provision_template
from s3flow.local.cloudformation.template import (
    MOTO_ACCOUNT_ID,
    Resolver,
    creation_order,
    physical_name,
    references,
)

__all__ = [
    "MOTO_ACCOUNT_ID",
    "ProvisionError",
    "Resolver",
    "StackExistsError",
    "TemplateError",
    "TemplateNotFoundError",
    "UnsupportedResourceError",
    "creation_order",
    "load_template",
    "physical_name",
    "provision",
    "provision_template",
    "references",
]
