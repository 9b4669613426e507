#!/usr/bin/env python3
"""botocore as the emulator's peer, for spec/07-emulator/wire_spec.lua.

Mode "requests": what botocore puts on the wire for each input, signed.
stdin:  {"mode": "requests", "model": path to service-2.json,
         "endpoint": "https://...", "region", "time" (epoch seconds),
         "credentials": {"access_key_id", "secret_access_key", "session_token"|null},
         "presign": seconds (optional: SigV4QueryAuth instead of the header),
         "cases": [{"operation", "input"}]}
stdout: {"botocore": version, "results": [{"operation", "method", "path",
         "query", "headers": [[name, value], ...], "body"}]}
The request is serialized by botocore's rest-json serializer over the shared
model and signed by botocore.auth.SigV4Auth (or SigV4QueryAuth) with the
clock pinned to "time", the way botocore_sign.py does. Host is added as the
HTTP client adds it (botocore signs it from the URL).

Mode "parse": botocore's RestJSONParser reads bodies the emulator wrote.
stdin:  {"mode": "parse", "model", "cases": [{"operation", "body", "status"}]}
stdout: {"results": [{"operation", "parsed": {...}, "empty_lists": [paths]}]}
Timestamps come back as epoch seconds (numbers); "empty_lists" names every
member path whose parsed value is an empty list (so the caller can tell []
from {} after JSON decoding).
"""
import datetime
import json
import sys
from unittest import mock
from urllib.parse import urlsplit

import botocore
import botocore.auth
import botocore.model
import botocore.parsers
import botocore.serialize
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.credentials import Credentials


def pinned_clock(when):
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch.object(botocore.auth, "get_current_datetime", return_value=when)
    fake = mock.Mock(wraps=datetime.datetime)  # older botocore: datetime.datetime.utcnow()
    fake.utcnow.return_value = when
    return mock.patch.object(botocore.auth.datetime, "datetime", fake)


def wire_request(sm, data, case):
    op = sm.operation_model(case["operation"])
    ser = botocore.serialize.create_serializer("rest-json", include_validation=False)
    req = ser.serialize_to_request(case["input"], op)
    prepare_request_dict(req, endpoint_url=data["endpoint"])
    aws_req = create_request_object(req)
    c = data["credentials"]
    creds = Credentials(c["access_key_id"], c["secret_access_key"], c.get("session_token"))
    if data.get("presign"):
        signer = botocore.auth.SigV4QueryAuth(creds, "gameliftstreams", data["region"],
                                              expires=data["presign"])
    else:
        signer = botocore.auth.SigV4Auth(creds, "gameliftstreams", data["region"])
    when = datetime.datetime.fromtimestamp(data["time"], datetime.timezone.utc).replace(tzinfo=None)
    with pinned_clock(when):
        signer.add_auth(aws_req)
    prepared = aws_req.prepare()
    parts = urlsplit(prepared.url)
    headers = [["Host", parts.netloc]] + [[k, v] for k, v in prepared.headers.items()]
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return {"operation": case["operation"], "method": prepared.method, "path": parts.path,
            "query": parts.query, "headers": headers, "body": body.decode("utf-8")}


def plain(value, path, empties):
    """Parsed output as JSON: datetimes to epoch seconds; records empty lists."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: plain(v, path + [k], empties) for k, v in value.items()}
    if isinstance(value, list):
        if not value:
            empties.append(".".join(path))
        return [plain(v, path + [str(i + 1)], empties) for i, v in enumerate(value)]
    return value


def parse(sm, case):
    op = sm.operation_model(case["operation"])
    parser = botocore.parsers.RestJSONParser()
    resp = {"status_code": case.get("status", 200), "headers": {},
            "body": case["body"].encode("utf-8")}
    parsed = parser.parse(resp, op.output_shape)
    parsed.pop("ResponseMetadata", None)
    empties = []
    out = plain(parsed, [], empties)
    return {"operation": case["operation"], "parsed": out, "empty_lists": empties}


def main():
    data = json.load(sys.stdin)
    with open(data["model"]) as f:
        sm = botocore.model.ServiceModel(json.load(f), service_name="gameliftstreams")
    if data["mode"] == "parse":
        results = [parse(sm, c) for c in data["cases"]]
    else:
        results = [wire_request(sm, data, c) for c in data["cases"]]
    json.dump({"botocore": botocore.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
