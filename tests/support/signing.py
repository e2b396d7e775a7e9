"""botocore's SigV4 signer, the reference our signing is compared with, and the keys it signs with."""

from __future__ import annotations

from datetime import datetime
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"


def sign_with_botocore(
    *,
    url: str,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
    access_key: str,
    secret_key: str,
    session_token: str | None,
    region: str,
    signing_name: str,
) -> dict[str, str]:
    """The headers botocore's SigV4 signer gives a POST of ``body`` to ``url`` at ``now`` (naive UTC)."""
    request = botocore.awsrequest.AWSRequest(method="POST", url=url, headers=dict(headers), data=body)
    credentials = botocore.credentials.Credentials(access_key, secret_key, session_token)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=now):
        botocore.auth.SigV4Auth(credentials, signing_name, region).add_auth(request)
    return dict(request.headers.items())
