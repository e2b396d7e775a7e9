"""AWS Signature Version 4 for a JSON-protocol request: a POST of a body, no query string."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None


def signed_headers(
    *,
    credentials: Credentials,
    region: str,
    signing_name: str,
    host: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
) -> dict[str, str]:
    """``headers`` plus ``Host``, ``X-Amz-Date``, the session token and ``Authorization``.

    Every header given is signed, so pass only what the service should see signed: botocore
    leaves ``User-Agent`` and ``X-Amzn-Trace-Id`` out, and so must the caller.
    """
    amz_date = now.strftime(AMZ_DATE_FORMAT)
    all_headers = {**headers, "Host": host, "X-Amz-Date": amz_date}
    if credentials.session_token:
        all_headers["X-Amz-Security-Token"] = credentials.session_token
    canonical = {name.lower(): " ".join(value.split()) for name, value in all_headers.items()}
    names = ";".join(sorted(canonical))
    canonical_request = "\n".join(
        [
            "POST",
            path,
            "",  # no query string
            "".join(f"{name}:{canonical[name]}\n" for name in sorted(canonical)),
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{signing_name}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = signing_key(credentials.secret_key, amz_date[:8], region, signing_name)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    all_headers["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    return all_headers


def signing_key(secret_key: str, date: str, region: str, signing_name: str) -> bytes:
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, signing_name, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
