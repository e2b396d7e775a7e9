"""Which IAM actions on which resources an HTTP request to the emulator asks for, and the
access-denied answer each service gives in its protocol.

``describe`` reads a SigV4-signed request (the service from its credential scope, the operation
from where the protocol puts it) and looks the operation up in its service's table
(``tables.py``, ``s3.py``). An operation not in the tables, or whose input cannot be read, is
described unmapped: ``mapped=False`` and one authorization, "<IAM prefix>:<Operation>" on "*".
``describe`` returns None for what is no AWS API call: moto's own ``/moto-api``, an unsigned
request, or a signed one that names no operation of its service (moto could not serve it
either).

``access_denied`` builds the refusal (``answers.py``).
"""

from __future__ import annotations

from werkzeug.wrappers import Request

from s3flow.local.iam.api_calls.answers import access_denied
from s3flow.local.iam.api_calls.model import ApiCall, Arns, Authorization, Call, distinct
from s3flow.local.iam.api_calls.tables import TABLES, iam_prefix
from s3flow.local.iam.api_calls.wire import credential_scope, read_operation

__all__ = ["ApiCall", "Authorization", "access_denied", "access_key_id", "describe"]

# What a resolver raises on input it cannot read (a missing member, a wrong type, a bad ARN).
_MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError, SyntaxError)


def access_key_id(request: Request) -> str | None:
    """The access key id that signed the request (SigV4 header or presigned URL); None unsigned."""
    scope = credential_scope(request)
    return scope.access_key_id if scope else None


def describe(request: Request, *, account: str, region: str, partition: str = "aws") -> ApiCall | None:
    """The call the request makes, for the account and region the emulator stands for.

    Reads the body only where the operation is in it (JSON, query forms, S3 DeleteObjects),
    through ``request.get_data(cache=True)``, and leaves a fresh stream of it in the environ.
    """
    if request.path.startswith("/moto-api"):
        return None
    scope = credential_scope(request)
    if scope is None:
        return None
    operation = read_operation(request, scope.service)
    if operation is None:
        return None
    resolver = TABLES.get(scope.service, {}).get(operation.name)
    if resolver is not None:
        call = Call(operation.params, request, Arns(partition, region, account))
        try:
            return ApiCall(scope.service, operation.name, operation.protocol, distinct(resolver(call)))
        except _MALFORMED:
            pass  # described as unmapped: the service refuses such input anyway
    derived = Authorization(f"{iam_prefix(scope.service)}:{operation.name}", "*")
    return ApiCall(scope.service, operation.name, operation.protocol, (derived,), mapped=False)
