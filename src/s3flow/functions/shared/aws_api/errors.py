"""What a call of the AWS JSON client can fail with, and which failures are worth retrying.

Configuration problems (no region, a bad endpoint) are ``shared.errors.ConfigurationError``.
"""

from __future__ import annotations

from typing import Any

# Error codes worth another attempt, as botocore's retry handlers list them.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)

CRC32_MISMATCH = "Crc32Mismatch"


class ApiCallError(Exception):
    """A call AWS refused (``status`` set) or that never got an answer (``status`` None).

    ``code`` is AWS's error code (``ConditionalCheckFailedException``, ...) and ``response``
    the whole error body, which carries extras such as DynamoDB's ``Item`` (ALL_OLD).
    """

    def __init__(
        self,
        operation: str,
        code: str,
        message: str,
        status: int | None = None,
        response: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{operation}: {code}: {message}")
        self.operation = operation
        self.code = code
        self.message = message
        self.status = status
        self.response = response or {}

    @property
    def retryable(self) -> bool:
        if self.status is None or self.code == CRC32_MISMATCH:  # no answer, or a damaged one
            return True
        return self.status >= 500 or self.status == 429 or self.code in RETRYABLE_CODES
