#!/usr/bin/env python3
"""Signs requests with botocore's SigV4Auth, for spec/01-sigv4/botocore_spec.lua.

stdin:  {"cases": [{"method", "url", "headers": [[name, value], ...], "body",
          "access_key_id", "secret_access_key", "session_token" (or null),
          "region", "service", "time" (epoch seconds)}, ...]}
stdout: {"botocore": "<version>", "results": [{"signature", "canonical_request",
          "string_to_sign", "authorization"}, ...]}

The clock is fixed the way botocore's own tests do it: by patching the
datetime source that botocore.auth calls (get_current_datetime in botocore
1.43; datetime.datetime.utcnow in older releases).
"""
import datetime
import json
import sys
from unittest import mock

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(case):
    request = AWSRequest(method=case["method"], url=case["url"],
                         data=case["body"].encode("utf-8"))
    for name, value in case["headers"]:
        request.headers[name] = value  # HTTPHeaders appends: repeats kept in order
    creds = Credentials(case["access_key_id"], case["secret_access_key"],
                        case.get("session_token"))
    auth = botocore.auth.SigV4Auth(creds, case["service"], case["region"])
    when = datetime.datetime.fromtimestamp(case["time"], datetime.timezone.utc)
    when = when.replace(tzinfo=None)
    captured = {}
    real_cr, real_sts = auth.canonical_request, auth.string_to_sign

    def canonical_request(req):
        captured["cr"] = real_cr(req)
        return captured["cr"]

    def string_to_sign(req, cr):
        captured["sts"] = real_sts(req, cr)
        return captured["sts"]

    auth.canonical_request = canonical_request
    auth.string_to_sign = string_to_sign
    if hasattr(botocore.auth, "get_current_datetime"):
        patcher = mock.patch.object(botocore.auth, "get_current_datetime",
                                    return_value=when)
    else:  # older botocore: datetime.datetime.utcnow()
        fake = mock.Mock(wraps=datetime.datetime)
        fake.utcnow.return_value = when
        patcher = mock.patch.object(botocore.auth.datetime, "datetime", fake)
    with patcher:
        auth.add_auth(request)
    authz = request.headers["Authorization"]
    return {
        "signature": authz.rsplit("Signature=", 1)[1],
        "canonical_request": captured["cr"],
        "string_to_sign": captured["sts"],
        "authorization": authz,
    }


def main():
    data = json.load(sys.stdin)
    out = {"botocore": botocore.__version__,
           "results": [sign(c) for c in data["cases"]]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
