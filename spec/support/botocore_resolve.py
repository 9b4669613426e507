#!/usr/bin/env python3
"""What botocore resolves from an environment and its files.

stdin:  {"env": {NAME: VALUE}, "request": gls's dry-run request or null
         ({"method","url","headers":[[n,v]],"body"})}
stdout: {"region", "endpoint_url", "access_key", "token", "same_signature", "error"}

The process environment is replaced by env (plus PATH). With a request,
botocore signs it again with the credentials it resolved, at the same
X-Amz-Date and over the same signed headers; same_signature says whether
the Authorization headers agree, which proves the secret keys agree without
printing either.
"""
import datetime
import json
import os
import sys


def main():
    data = json.load(sys.stdin)
    path = os.environ.get("PATH", "")
    os.environ.clear()
    os.environ.update(data["env"])
    os.environ["PATH"] = path
    import botocore.session
    import botocore_sign
    out = {"region": None, "endpoint_url": None, "access_key": None, "token": None,
           "same_signature": None, "error": None}
    try:
        s = botocore.session.Session()
        out["region"] = s.get_config_variable("region")
        client = s.create_client("gameliftstreams")
        out["endpoint_url"] = client.meta.endpoint_url
        creds = s.get_credentials()
        if creds is None:
            out["error"] = "NoCredentials"
        else:
            f = creds.get_frozen_credentials()
            out["access_key"], out["token"] = f.access_key, f.token
            req = data.get("request")
            if req:
                h = {k.lower(): v for k, v in req["headers"]}
                auth = h.get("authorization", "")
                signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";") if auth else []
                when = datetime.datetime.strptime(h["x-amz-date"], "%Y%m%dT%H%M%SZ")
                scope_region = auth.split("Credential=")[1].split("/")[2]
                got = botocore_sign.authorization(req["method"], req["url"], req["headers"], req["body"].encode(),
                                                  signed, f.access_key, f.secret_key, f.token,
                                                  "gameliftstreams", scope_region, when)
                out["same_signature"] = got == auth
    except Exception as e:  # the kind of failure is the answer
        out["error"] = type(e).__name__ + ": " + str(e)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
