"""A small client for AWS's JSON protocol, signed with SigV4 from the standard library.

Why not botocore here: the processor makes one kind of call (``PutItem``) and the publisher
two (``PutEvents``, rarely ``SendMessageBatch``). botocore's import plus one client costs
about 140 ms of every cold start (docs/performance.md, "What a cold start is made of"),
mostly loading service models; this package and one client, about 35 ms (``http.client``
brings the ``email`` package).
awscrt, AWS's native signer, measured 35 ms to import and 12 MB of shared library.

What it keeps from botocore, each held to botocore by a test: the SigV4 signature
(``tests/unit/functions/shared/test_aws_api_signing.py`` compares every header it signs), the endpoint
variables (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``), the retry budget per
service (botocore's legacy mode: 10 attempts for DynamoDB, 5 for the others;
``AWS_MAX_ATTEMPTS`` overrides it), DynamoDB's CRC32 response check, and the
recursion-detection trace header. Everything else a function needs (S3 reads by processing
steps) still goes through botocore, created on first use.

``add_call_interceptor`` wraps every call of the process's clients: the seam through which
tests disturb the functions' calls (``s3flow.testing``) without replacing their code.
"""

from s3flow.functions.shared.aws_api.client import (
    CallInterceptor,
    JsonApiClient,
    add_call_interceptor,
    remove_call_interceptor,
)
from s3flow.functions.shared.aws_api.errors import ApiCallError
from s3flow.functions.shared.aws_api.services import DYNAMODB, EVENTBRIDGE, SQS, Service

__all__ = [
    "DYNAMODB",
    "EVENTBRIDGE",
    "SQS",
    "ApiCallError",
    "CallInterceptor",
    "JsonApiClient",
    "Service",
    "add_call_interceptor",
    "remove_call_interceptor",
]
