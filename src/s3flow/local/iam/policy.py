"""IAM policy evaluation: whether policy documents allow one request (pure, no I/O).

Written by hand: no maintained Python library evaluates IAM policies with their Resource and
Condition elements (moto's access control ignores both). It follows AWS's documented logic:

- docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html: an
  explicit Deny in any policy refuses; within one account an Allow in the identity-based or
  the resource-based policy allows; across accounts both must allow; otherwise the request is
  implicitly denied.
- docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html: ``"*"``
  and ``{"AWS": "*"}`` are all principals (services too); a role ARN names the role and its
  sessions; an account (``"123456789012"`` or ``arn:aws:iam::123456789012:root``) delegates to
  that account's identity policies rather than granting by itself.
- docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html:
  a key missing from the request makes a condition false, a negated one true, ``...IfExists``
  true, and ``Null`` tests exactly that.
- docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html:
  operators AND, keys AND, values OR (a negated operator's values NOR); ``ForAllValues`` holds
  when every request value matches (and for a missing key), ``ForAnyValue`` when one does.

Date, IP address and binary operators and policy variables are not evaluated:
``check_document`` refuses them by name, so provisioning stops instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

IDENTITY_POLICY = "identity-based policy"
RESOURCE_POLICY = "resource-based policy"


class PolicyError(ValueError):
    """A policy document the evaluation cannot read (one-line message)."""


@dataclass(frozen=True)
class Principal:
    kind: str  # "AWS" or "Service"
    arn: str  # an AWS principal's role ARN; a service principal's name (events.amazonaws.com)
    account: str | None = None  # an AWS principal's account; None for services
    session_arn: str | None = None  # arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION for a session


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str  # "dynamodb:PutItem"
    resource: str  # an ARN, or "*" for actions without resource types
    # Condition keys (names case-insensitive) -> the request's value or values.
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


class Decision(StrEnum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    denied_by: str | None = None  # where an explicit deny came from: IDENTITY_ or RESOURCE_POLICY

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


@lru_cache(maxsize=4096)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    # Only * and ? are special: IAM has no character classes, so "[" is literal. A * runs on
    # past colons, as a Resource's trailing * does
    # (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(glob: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches ``glob`` (``*`` any run of characters, ``?`` one character)."""
    return _pattern(glob, ignore_case).fullmatch(value) is not None


def _arn_match(value: str, glob: str) -> bool:
    # ArnEquals/ArnLike: each of the six colon-delimited components matched on its own.
    ours, theirs = value.split(":", 5), glob.split(":", 5)
    return len(ours) == len(theirs) == 6 and all(map(wildcard_match, theirs, ours))


def _strings(value: Any) -> list[str]:
    """A policy or context value as strings: one string, a list, or JSON booleans and numbers."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int | float):
        return [str(value)]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [text for item in value for text in _strings(item)]
    return []


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def match(value: str, expected: str) -> bool:
        try:
            return compare(float(value), float(expected))
        except ValueError:
            return False

    return match


# base operator -> (does the request value match one policy value, is it negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (str.__eq__, False),
    "StringNotEquals": (str.__eq__, True),
    "StringEqualsIgnoreCase": (lambda v, e: v.casefold() == e.casefold(), False),
    "StringNotEqualsIgnoreCase": (lambda v, e: v.casefold() == e.casefold(), True),
    "StringLike": (lambda v, e: wildcard_match(e, v), False),
    "StringNotLike": (lambda v, e: wildcard_match(e, v), True),
    "ArnEquals": (_arn_match, False),
    "ArnLike": (_arn_match, False),
    "ArnNotEquals": (_arn_match, True),
    "ArnNotLike": (_arn_match, True),
    "Bool": (lambda v, e: v.lower() == e.lower(), False),
    "NumericEquals": (_numeric(float.__eq__), False),
    "NumericNotEquals": (_numeric(float.__eq__), True),
    "NumericLessThan": (_numeric(float.__lt__), False),
    "NumericLessThanEquals": (_numeric(float.__le__), False),
    "NumericGreaterThan": (_numeric(float.__gt__), False),
    "NumericGreaterThanEquals": (_numeric(float.__ge__), False),
}
_UNSUPPORTED = {
    "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
    "DateGreaterThanEquals", "IpAddress", "NotIpAddress", "BinaryEquals",
}  # fmt: skip
_SUPPORTED = "String*, Arn*, Bool, Numeric* and Null"
_QUALIFIERS = ("ForAllValues:", "ForAnyValue:")


@dataclass(frozen=True)
class _Operator:
    base: str
    qualifier: str  # "", "ForAllValues:" or "ForAnyValue:"
    if_exists: bool

    def holds(self, actual: str | Sequence[str] | None, expected: list[str]) -> bool:
        values = _strings(actual) if actual is not None else []
        if self.base == "Null":  # "true": the key is absent; "false": it is present
            return any((not values) == (e.lower() == "true") for e in expected)
        match, negated = _OPERATORS[self.base]
        if not values:
            if self.if_exists or self.qualifier == "ForAllValues:":
                return True
            return negated and self.qualifier != "ForAnyValue:"

        def one(value: str) -> bool:  # values OR; a negated operator's values NOR
            return any(match(value, e) for e in expected) != negated

        if self.qualifier == "ForAllValues:":
            return all(map(one, values))
        if self.qualifier == "ForAnyValue:":
            return any(map(one, values))
        return any(match(v, e) for v in values for e in expected) != negated


@lru_cache(maxsize=256)
def _operator(name: str) -> _Operator:
    qualifier = next((q for q in _QUALIFIERS if name.startswith(q)), "")
    base = name[len(qualifier) :]
    if_exists = base.endswith("IfExists") and base != "IfExists"
    base = base.removesuffix("IfExists") if if_exists else base
    if base in _UNSUPPORTED:
        raise PolicyError(f"unsupported condition operator {name} (the emulator evaluates {_SUPPORTED})")
    if base not in _OPERATORS and not (base == "Null" and not if_exists):
        raise PolicyError(f"unknown condition operator {name}")
    return _Operator(base, qualifier, if_exists)


def _conditions_hold(condition: Mapping[str, Any], context: Mapping[str, str | Sequence[str]]) -> bool:
    return all(
        _operator(name).holds(context.get(key.lower()), _strings(expected))
        for name, keys in condition.items()
        for key, expected in keys.items()
    )


def _account(value: str) -> str | None:
    """The account an ``AWS`` principal value names as a whole, if it names one."""
    found = re.fullmatch(r"(\d{12})|arn:[\w-]+:iam::(\d{12}):root", value)
    return (found.group(1) or found.group(2)) if found else None


def _names(element: Any, principal: Principal, *, accounts: bool) -> bool:
    """Whether a Principal element names ``principal``; ``accounts``: whether naming its
    account counts (for a Deny always; for an Allow only where the account delegates)."""
    if element == "*":
        return True
    if not isinstance(element, Mapping):
        return False
    for kind, values in element.items():
        for value in _strings(values):
            if kind == "AWS" and value == "*":
                return True
            if kind != principal.kind:
                continue
            if value in (principal.arn, principal.session_arn):
                return True
            if accounts and kind == "AWS" and principal.account and _account(value) == principal.account:
                return True
    return False


def _exempts(element: Any, principal: Principal) -> bool:
    """Whether a NotPrincipal element leaves ``principal`` out. AWS checks the account, the
    role and the session each, so all must be listed
    (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html)."""
    if principal.kind != "AWS" or not principal.account:
        return _names(element, principal, accounts=False)
    if element == "*":
        return True
    listed = set(_strings(element.get("AWS"))) if isinstance(element, Mapping) else set()
    chain = [principal.arn] + ([principal.session_arn] if principal.session_arn else [])
    account_listed = any(_account(value) == principal.account for value in listed)
    return "*" in listed or (account_listed and all(link in listed for link in chain))


def _statements(documents: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for document in documents:
        found = document.get("Statement", [])
        yield from [found] if isinstance(found, Mapping) else found


def _any_match(patterns: Any, value: str, *, ignore_case: bool) -> bool:
    return any(wildcard_match(p, value, ignore_case=ignore_case) for p in _strings(patterns))


def _applies(
    statement: Mapping[str, Any],
    request: Request,
    context: Mapping[str, str | Sequence[str]],
    *,
    resource_policy: bool,
    accounts: bool,
) -> bool:
    if resource_policy:
        if "Principal" in statement:
            if not _names(statement["Principal"], request.principal, accounts=accounts):
                return False
        elif "NotPrincipal" in statement:
            if _exempts(statement["NotPrincipal"], request.principal):
                return False
        else:
            return False  # AWS refuses a resource policy statement without a principal
    if "Action" in statement:
        if not _any_match(statement["Action"], request.action, ignore_case=True):
            return False
    elif "NotAction" not in statement or _any_match(statement["NotAction"], request.action, ignore_case=True):
        return False
    if "Resource" in statement:
        if not _any_match(statement["Resource"], request.resource, ignore_case=False):
            return False
    elif "NotResource" in statement:
        if _any_match(statement["NotResource"], request.resource, ignore_case=False):
            return False
    elif not resource_policy:
        return False  # without Resource a resource policy's statement is about its own resource
    return _conditions_hold(statement.get("Condition", {}), context)


def _decide(
    documents: Iterable[Mapping[str, Any]], request: Request, *, resource_policy: bool, delegated: bool
) -> Decision:
    context = {key.lower(): value for key, value in request.context.items()}
    allowed = False
    for statement in _statements(documents):
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            continue
        accounts = effect == "Deny" or delegated
        if _applies(statement, request, context, resource_policy=resource_policy, accounts=accounts):
            if effect == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def evaluate(
    documents: Iterable[Mapping[str, Any]], request: Request, *, resource_policy: bool = False
) -> Decision:
    """One set of policy documents' decision on ``request``. ``resource_policy``: the
    statements name principals (Principal/NotPrincipal), which must match the request's; an
    Allow naming only the principal's account grants nothing by itself (see ``authorize``)."""
    return _decide(list(documents), request, resource_policy=resource_policy, delegated=False)


def authorize(
    request: Request,
    *,
    identity: Iterable[Mapping[str, Any]] = (),
    resource: Iterable[Mapping[str, Any]] = (),
    resource_account: str | None = None,
    key_policy: bool = False,
) -> Verdict:
    """The whole evaluation of one request against the principal's identity-based policies and
    the resource's resource-based policies.

    An explicit Deny in either refuses. A resource policy's Allow naming the principal's
    account delegates to the identity policies: it counts only if they allow too. Within one
    account an Allow in either allows; across accounts (both accounts known and different) both
    must. A KMS key policy (``key_policy``) must allow, directly or by delegation
    (docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html). A service
    principal has no identity policies: only the resource policy can allow it.
    """
    resource = list(resource)
    identity = [] if request.principal.kind == "Service" else list(identity)
    mine = _decide(identity, request, resource_policy=False, delegated=False)
    if mine is Decision.EXPLICIT_DENY:
        return Verdict(Decision.EXPLICIT_DENY, IDENTITY_POLICY)
    theirs = _decide(resource, request, resource_policy=True, delegated=False)
    if theirs is Decision.EXPLICIT_DENY:
        return Verdict(Decision.EXPLICIT_DENY, RESOURCE_POLICY)
    identity_allows = mine is Decision.ALLOW
    resource_allows = theirs is Decision.ALLOW or (
        identity_allows and _decide(resource, request, resource_policy=True, delegated=True) is Decision.ALLOW
    )
    account = request.principal.account
    if account and resource_account and account != resource_account:
        allowed = identity_allows and resource_allows
    elif key_policy:
        allowed = resource_allows
    else:
        allowed = identity_allows or resource_allows
    return Verdict(Decision.ALLOW if allowed else Decision.IMPLICIT_DENY)


def condition_keys(document: Mapping[str, Any]) -> set[str]:
    """Every condition key the document's statements use, as written."""
    return {
        key for st in _statements([document]) for keys in st.get("Condition", {}).values() for key in keys
    }


_VARIABLE = re.compile(r"\$\{[^}]*\}")
_EXCLUSIVE = (("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal"))


def check_document(document: Mapping[str, Any]) -> None:
    """Raises PolicyError if the document is malformed or uses what the evaluation does not
    support (date, IP and binary condition operators, policy variables)."""
    found = document.get("Statement")
    if not isinstance(found, Mapping | list):
        raise PolicyError("the document's Statement is neither an object nor a list")
    for index, statement in enumerate(_statements([document]), 1):
        where = f"statement {statement.get('Sid') or index}"
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError(f"{where}: unknown Effect {statement.get('Effect')!r}")
        for element, negated in _EXCLUSIVE:
            if element in statement and negated in statement:
                raise PolicyError(f"{where}: both {element} and {negated}")
        if "Action" not in statement and "NotAction" not in statement:
            raise PolicyError(f"{where}: no Action or NotAction")
        condition = statement.get("Condition", {})
        for name in condition:
            try:
                _operator(name)
            except PolicyError as error:
                raise PolicyError(f"{where}: {error}") from None
        texts = _strings(statement.get("Resource", statement.get("NotResource")))
        texts += [text for keys in condition.values() for value in keys.values() for text in _strings(value)]
        for text in texts:
            if variable := _VARIABLE.search(text):
                raise PolicyError(f"{where}: policy variable {variable.group()} is not supported")
