"""Provision a synthesized CDK stack template on the local emulator (moto in server mode).

``provision(cdk_out, "TapStackdev", endpoint_url=...)`` reads
``cdk.out/TapStackdev.template.json`` (the same CloudFormation that ``cdk deploy`` sends to
AWS), checks that every resource type and property is supported
(:mod:`s3flow.local.cloudformation.resources`), orders and resolves the resources
(:mod:`s3flow.local.cloudformation.template`), creates each in moto through boto3, and
returns a :class:`~s3flow.local.deployment.Deployment` for the local runtime.

Why not moto's own CloudFormation: with moto 5.2.5 a CDK template does not deploy. It needs
the bootstrap SSM parameter, resolves ``Ref`` to an event bus to the wrong value, drops bucket
versioning and ``TracingConfig``, and never finishes a stack holding ``Custom::`` resources.
This package is a small resolver over the resource types our stack uses instead; the stack is
still registered in moto's CloudFormation afterwards (a one-resource stand-in template whose
outputs are the resolved values), so ``describe_stacks(...)["Stacks"][0]["Outputs"]`` reads
the same locally as on AWS. A template that uses ``AWS::StackId`` is registered before its
resources are created, and updated after.

If provisioning fails part way, no stack is left registered; resources already created stay
(there is no rollback), so provision onto a fresh emulator. A stack already registered there
raises :class:`StackExistsError`.

``fresh_emulator=True`` is for a caller that has just reset the emulator (``LocalPipeline``):
no stack can exist there, so none is looked for, and the registration is left to the caller
(``Deployment.register_stack``, run later): moto loads its CloudFormation, and with it the
model of every service it parses templates for, on the first CloudFormation request, about a
second of a local pipeline's start otherwise.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from s3flow.local.cloudformation.authorization import check_authorizations
from s3flow.local.cloudformation.errors import (
    StackExistsError,
    TemplateNotFoundError,
    UnsupportedResourceError,
)
from s3flow.local.cloudformation.resources import RESOURCE_TYPES, Context
from s3flow.local.cloudformation.resources.base import sdk_value
from s3flow.local.cloudformation.template import Resolver, creation_order
from s3flow.local.credentials import emulator_session
from s3flow.local.deployment import Deployment

PLACEHOLDER_TYPE = "AWS::CloudFormation::WaitConditionHandle"
# moto accepts the stand-in resource but warns that it has no model for it; when moto runs in
# this process (tests, `s3flow local up`) that warning is about our own placeholder: noise.
warnings.filterwarnings("ignore", message=f"Tried to parse {PLACEHOLDER_TYPE}", category=UserWarning)


def load_template(cloud_assembly: Path, stack_name: str) -> dict[str, Any]:
    path = Path(cloud_assembly) / f"{stack_name}.template.json"
    if not path.is_file():
        raise TemplateNotFoundError(path)
    return json.loads(path.read_text(encoding="utf-8"))


def provision(
    cloud_assembly: Path,
    stack_name: str,
    *,
    endpoint_url: str,
    region: str = "us-east-1",
    parameters: Mapping[str, str] | None = None,
    fresh_emulator: bool = False,
) -> Deployment:
    """Create the stack's resources on the emulator at ``endpoint_url``; see the module doc."""
    template = load_template(cloud_assembly, stack_name)
    return provision_template(
        template,
        stack_name,
        endpoint_url=endpoint_url,
        region=region,
        parameters=parameters,
        cloud_assembly=Path(cloud_assembly),
        fresh_emulator=fresh_emulator,
    )


def provision_template(
    template: Mapping[str, Any],
    stack_name: str,
    *,
    endpoint_url: str,
    region: str = "us-east-1",
    parameters: Mapping[str, str] | None = None,
    cloud_assembly: Path | None = None,
    fresh_emulator: bool = False,
) -> Deployment:
    """Provision ``template``; functions run from their assets in ``cloud_assembly`` (see
    ``assets``), or from the emulator's own path when there is none."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    order = creation_order(resources)  # template errors surface before anything is created
    _check_supported(resources)

    session = emulator_session(region)
    # moto's account (123456789012 unless moto was configured otherwise), as the endpoint says.
    sts = session.client("sts", endpoint_url=endpoint_url)
    account = sts.get_caller_identity()["Account"]
    resolver = Resolver(
        template, stack_name, region, account=account, parameter_overrides=dict(parameters or {})
    )
    deployment = Deployment(stack_name=stack_name, region=region, account=account)
    context = Context(session, endpoint_url, resolver, deployment, cloud_assembly)

    cloudformation = context.client("cloudformation")
    if not fresh_emulator and _stack_exists(cloudformation, stack_name):
        raise StackExistsError(stack_name, endpoint_url)
    placeholder: dict[str, Any] = {"Resources": {"Provisioned": {"Type": PLACEHOLDER_TYPE}}}
    if "Description" in template:
        placeholder["Description"] = template["Description"]
    # The stack is registered once everything exists (CREATE_COMPLETE, as after a first
    # deploy), unless the template needs its own AWS::StackId: then early, and updated at the end.
    registered_early = "AWS::StackId" in json.dumps(template)
    if registered_early:
        body = json.dumps(placeholder)
        deployment.stack_id = cloudformation.create_stack(StackName=stack_name, TemplateBody=body)["StackId"]
        resolver.set_stack_id(deployment.stack_id)
    try:
        for logical_id in order:
            resource = resources[logical_id]
            if "Condition" in resource and not resolver.condition(resource["Condition"]):
                continue
            _create(context, logical_id, resource)
        for step in context.deferred:
            step()
        check_authorizations(deployment)
        placeholder["Outputs"] = dict(_outputs(template, resolver))
    except Exception:
        if registered_early:
            cloudformation.delete_stack(StackName=stack_name)
        raise
    deployment.outputs = {key: output["Value"] for key, output in placeholder["Outputs"].items()}
    body = json.dumps(placeholder)

    def register() -> None:
        if not registered_early:
            created = cloudformation.create_stack(StackName=stack_name, TemplateBody=body)
            deployment.stack_id = created["StackId"]
        elif placeholder["Outputs"]:
            cloudformation.update_stack(StackName=stack_name, TemplateBody=body)

    if fresh_emulator and not registered_early:
        deployment.register_stack = register
    else:
        register()
    return deployment


def _outputs(template: Mapping[str, Any], resolver: Resolver) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, output in template.get("Outputs", {}).items():
        if "Condition" in output and not resolver.condition(output["Condition"]):
            continue
        value = resolver.resolve(output["Value"])
        if isinstance(value, list):  # as CloudFormation shows a list-valued output
            value = ",".join(str(item) for item in value)
        resolved: dict[str, Any] = {"Value": value if isinstance(value, str) else sdk_value(value)}
        if "Description" in output:
            resolved["Description"] = resolver.resolve(output["Description"])
        if "Export" in output:
            resolved["Export"] = {"Name": resolver.resolve(output["Export"]["Name"])}
        yield key, resolved


def _check_supported(resources: Mapping[str, Any]) -> None:
    """Fail before creating anything when a resource type or property is not supported."""
    for logical_id, resource in resources.items():
        kind = resource.get("Type", "")
        resource_type = RESOURCE_TYPES.get(kind)
        if resource_type is None:
            raise UnsupportedResourceError(kind, logical_id)
        properties = resource.get("Properties", {})
        unknown = sorted(set(properties) - resource_type.known_properties)
        if unknown:
            raise UnsupportedResourceError(kind, logical_id, f"unsupported properties {', '.join(unknown)}")
        if resource_type.check is not None:
            resource_type.check(logical_id, properties, resources)


def _create(context: Context, logical_id: str, resource: Mapping[str, Any]) -> None:
    kind = resource.get("Type", "")
    resource_type = RESOURCE_TYPES.get(kind)
    if resource_type is None:
        raise UnsupportedResourceError(kind, logical_id)
    properties = context.resolver.resolve(resource.get("Properties", {}))
    created = resource_type.create(context, logical_id, properties)
    context.resolver.refs[logical_id] = created.physical_id
    context.resolver.attributes[logical_id] = created.attributes
    context.deployment.physical_ids[logical_id] = created.physical_id
    context.deployment.resource_types[logical_id] = kind


def _stack_exists(cloudformation: Any, stack_name: str) -> bool:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationError":
            return False
        raise
    return any(stack["StackStatus"] != "DELETE_COMPLETE" for stack in stacks)
