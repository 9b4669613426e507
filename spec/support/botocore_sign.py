"""botocore's Authorization header for a request as it was received.

Shared by the test servers and the differential scripts: rebuild the
request from the headers the client said it signed, pin botocore's clock to
the request's X-Amz-Date, and let botocore.auth.SigV4Auth sign it.
"""
import datetime
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ADDED_BY_SIGNER = ("x-amz-date", "x-amz-security-token", "authorization")


def authorization(method, url, headers, body, signed_names, akid, secret, token, service, region, when):
    """headers: [(name, value)]; signed_names: lower-case names from SignedHeaders;
    when: naive UTC datetime of X-Amz-Date. Returns botocore's Authorization value."""
    req = AWSRequest(method=method, url=url, data=body)
    for k, v in headers:
        if k.lower() in signed_names and k.lower() not in ADDED_BY_SIGNER:
            req.headers[k] = v
    signer = botocore.auth.SigV4Auth(Credentials(akid, secret, token), service, region)
    if hasattr(botocore.auth, "get_current_datetime"):
        patch = mock.patch.object(botocore.auth, "get_current_datetime", return_value=when)
    else:  # older botocore: datetime.datetime.utcnow()
        fake = mock.Mock(wraps=datetime.datetime)
        fake.utcnow.return_value = when
        patch = mock.patch.object(botocore.auth.datetime, "datetime", fake)
    with patch:
        signer.add_auth(req)
    return req.headers["Authorization"]
