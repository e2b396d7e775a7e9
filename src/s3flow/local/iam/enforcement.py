"""IAM enforcement: each request a sandbox signs with its role's credentials is evaluated
against the template's policies before moto (or the runtime's own routes) sees it, and the
deliveries AWS services make on a role's or a resource policy's authority are checked too.

What AWS does (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny in any applicable policy refuses; otherwise, within one account, an Allow in
the principal's identity-based policies or in the resource's resource-based policy allows;
otherwise the request is implicitly denied. A Lambda function's code runs as a session of its
execution role named after the function
(docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html), so a refusal names
``arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION``.

Requests not signed with a role's credentials (the developer's CLI, the emulator's own
clients) are the account's administrator's and pass unevaluated, as an administrator's would.

The condition keys the emulator fills in are ``CONDITION_KEYS``; provisioning refuses a policy
that uses any other (``policy_problems``) instead of guessing its value.
``aws:SecureTransport`` is always true: on AWS every SDK and our functions' client call HTTPS
endpoints, and the emulator's plain-HTTP endpoint is a local stand-in for them (``local up
--tls`` makes it true in fact).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request as HttpRequest
from werkzeug.wrappers import Response

from s3flow.local.credentials import role_access_key_id
from s3flow.local.deployment import Deployment, PolicyStore
from s3flow.local.iam.api_calls import access_denied, access_key_id, describe
from s3flow.local.iam.policy import (
    Decision,
    PolicyError,
    Principal,
    Request,
    Verdict,
    authorize,
    check_document,
    condition_keys,
)

log = logging.getLogger(__name__)

# The global condition keys the emulator knows the value of for every request it evaluates
# (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html), in
# lower case: IAM compares key names case-insensitively.
CONDITION_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:SecureTransport",
        "aws:SourceArn",
        "aws:SourceAccount",
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalServiceName",
        "aws:PrincipalType",
        "aws:RequestedRegion",
        "aws:ResourceAccount",
    )
)


@dataclass(frozen=True)
class Denial:
    """One refused request: who asked, for what, and why (AWS's wording)."""

    principal: str  # the session's ARN for a role, the service principal for a service
    action: str
    resource: str
    reason: str

    @property
    def message(self) -> str:
        text = (
            f"User: {self.principal} is not authorized to perform: {self.action} on resource: {self.resource}"
        )
        return f"{text} {self.reason}" if self.reason.startswith("with ") else f"{text} because {self.reason}"


def denial_reason(verdict: Verdict, action: str, *, service: bool = False) -> str:
    """AWS's words for why ``verdict`` refused ``action``."""
    if verdict.decision is Decision.EXPLICIT_DENY:
        where = verdict.denied_by or "policy"
        return f"with an explicit deny in {'an' if where[0] in 'aeiou' else 'a'} {where}"
    kind = "resource-based" if service else "identity-based"
    return f"no {kind} policy allows the {action} action"


def role_session_arn(role_arn: str, session_name: str) -> str:
    """``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`` for a session of ``role_arn``."""
    partition, account = role_arn.split(":")[1], role_arn.split(":")[4]
    role_name = role_arn.rsplit("/", 1)[-1]
    return f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}"


def arn_account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] or None if len(parts) > 5 else None


class Authorizer:
    """The deployment's policies, evaluated for one principal's request at a time."""

    def __init__(self, policies: PolicyStore, *, region: str) -> None:
        self.policies = policies
        self.region = region

    def resource_policies(self, resource: str) -> Sequence[Mapping[str, Any]]:
        """The resource-based policies that apply to ``resource``: its own, its bucket's
        for an S3 object, the account's Logs resource policies for a log group or stream."""
        if resource.startswith("arn:") and ":s3:::" in resource:
            return self.policies.resource.get(resource.split("/", 1)[0], [])
        if ":logs:" in resource and ":log-group:" in resource:
            return self.policies.account_logs
        return self.policies.resource.get(resource, [])

    def check(
        self, principal: Principal, action: str, resource: str, context: Mapping[str, str]
    ) -> Denial | None:
        is_service = principal.kind == "Service"
        request = Request(principal=principal, action=action, resource=resource, context=context)
        verdict = authorize(
            request,
            identity=() if is_service else self.policies.identity.get(principal.arn, []),
            resource=self.resource_policies(resource),
            resource_account=arn_account(resource) or principal.account,
            key_policy=resource in self.policies.kms_keys,
        )
        if verdict.allowed:
            return None
        who = principal.arn if is_service else principal.session_arn or principal.arn
        return Denial(who, action, resource, denial_reason(verdict, action, service=is_service))

    def role_may(
        self, role_arn: str, action: str, resource: str, *, session_name: str | None = None
    ) -> Denial | None:
        """Whether a session of ``role_arn`` may: what a service acting with a function's
        role (Lambda's destinations, event source mappings, logs, traces) is refused."""
        account = arn_account(role_arn) or ""
        principal = Principal(
            "AWS",
            role_arn,
            account,
            role_session_arn(role_arn, session_name) if session_name else None,
        )
        return self.check(principal, action, resource, self.role_context(role_arn, account, resource))

    def service_may(
        self, service: str, action: str, resource: str, *, source_arn: str, source_account: str
    ) -> Denial | None:
        """Whether the service principal ``service`` (e.g. ``events.amazonaws.com``) may act on
        ``resource`` for ``source_arn``: only the resource's policy can allow it."""
        context = {
            "aws:SecureTransport": "true",
            "aws:SourceArn": source_arn,
            "aws:SourceAccount": source_account,
            "aws:PrincipalServiceName": service,
            "aws:PrincipalType": "Service",
            "aws:RequestedRegion": self.region,
            "aws:ResourceAccount": arn_account(resource) or source_account,
        }
        return self.check(Principal("Service", service), action, resource, context)

    def role_context(self, role_arn: str, account: str, resource: str) -> dict[str, str]:
        return {
            "aws:SecureTransport": "true",
            "aws:PrincipalArn": role_arn,
            "aws:PrincipalAccount": account,
            "aws:PrincipalType": "AssumedRole",
            "aws:RequestedRegion": self.region,
            "aws:ResourceAccount": arn_account(resource) or account,
        }


@dataclass(frozen=True)
class _Session:
    """Whose sandbox signed a request: the function's role, the session named after it."""

    role_arn: str
    function_name: str


class IamEnforcer:
    """The server interceptor: evaluates each request signed with a function's role
    credentials and answers a refused one with the service's access-denied error."""

    def __init__(self, deployment: Deployment, *, on_denied: Callable[[Denial], None] | None = None) -> None:
        self.deployment = deployment
        self.authorizer = Authorizer(deployment.policies, region=deployment.region)
        self.sessions = {
            role_access_key_id(spec.role_arn, spec.name): _Session(spec.role_arn, spec.name)
            for spec in deployment.functions.values()
            if spec.role_arn
        }
        self.on_denied = on_denied
        self.denials: deque[Denial] = deque(maxlen=1000)  # the latest, for tests and reports
        self._lock = threading.Lock()

    def __call__(self, request: HttpRequest) -> Response | None:
        key = access_key_id(request)
        session = self.sessions.get(key) if key else None
        if session is None:
            return None
        call = describe(request, account=self.deployment.account, region=self.deployment.region)
        if call is None:
            return None
        for authorization in call.authorizations:
            denial = self.authorizer.role_may(
                session.role_arn,
                authorization.action,
                authorization.resource,
                session_name=session.function_name,
            )
            if denial is not None:
                self._denied(denial)
                return access_denied(
                    call, principal=denial.principal, authorization=authorization, reason=denial.reason
                )
        return None

    def _denied(self, denial: Denial) -> None:
        with self._lock:
            self.denials.append(denial)
        log.info("denied: %s", denial.message)
        if self.on_denied is not None:
            self.on_denied(denial)


def documents_of(policies: PolicyStore) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(where, document) for every policy document the store holds."""
    for role, documents in policies.identity.items():
        yield from ((f"the identity policies of {role}", document) for document in documents)
    for resource, documents in policies.resource.items():
        yield from ((f"the resource policy of {resource}", document) for document in documents)
    yield from (("the account's CloudWatch Logs resource policies", d) for d in policies.account_logs)


def policy_problems(policies: PolicyStore) -> Iterator[str]:
    """What makes a stored policy one the emulator cannot evaluate faithfully: a malformed
    document or an unsupported operator (``check_document``), or a condition key whose value
    the emulator does not know."""
    for where, document in documents_of(policies):
        try:
            check_document(document)
        except PolicyError as error:
            yield f"{where}: {error}"
        for key in sorted(condition_keys(document)):
            if key.lower() not in CONDITION_KEYS:
                yield (
                    f"condition key {key} in {where} is not one the emulator can evaluate,"
                    " so its decision would be a guess"
                )
