#!/usr/bin/env python3
"""What botocore would send, compared with what gls sent.

stdin:  {"model": path to service-2.json, "endpoint": "http://127.0.0.1:PORT",
         "cases": [{"operation", "input", "gls": {"method", "path", "query", "body"}}]}
stdout: {"botocore": version, "results": [{"operation", "same": bool, "diffs": [..],
         "botocore": {"method", "path", "query", "body"}}]}

botocore serializes with its own rest-json serializer and the shared model
(it knows only 24 of the 30 operations natively; ServiceModel over the
shared file gives all 30). ClientToken is left out of both bodies: botocore
fills it in a handler, not in the serializer, and each side makes its own.
Queries are compared as sorted lists of encoded "key=value" pairs (order of
parameters is not significant; their encoding is).

Mode "validate": {"mode": "validate", "model", "cases": [{"operation", "input"}]}
-> {"results": [[error strings from botocore's ParamValidator], ...]}
"""
import json
import sys
from urllib.parse import urlsplit

import botocore
import botocore.model
import botocore.serialize
import botocore.validate
from botocore.awsrequest import create_request_object, prepare_request_dict


def botocore_request(sm, endpoint, operation, params):
    op = sm.operation_model(operation)
    ser = botocore.serialize.create_serializer("rest-json", include_validation=False)
    req = ser.serialize_to_request(params, op)
    prepare_request_dict(req, endpoint_url=endpoint)
    prepared = create_request_object(req).prepare()
    parts = urlsplit(prepared.url)
    body = prepared.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return {"method": prepared.method, "path": parts.path, "query": parts.query, "body": body or ""}


def norm_body(text):
    if not text:
        return None
    doc = json.loads(text)
    if isinstance(doc, dict):
        doc.pop("ClientToken", None)
    return doc


def norm_query(q):
    return sorted(p for p in q.split("&") if p) if q else []


def main():
    data = json.load(sys.stdin)
    with open(data["model"]) as f:
        sm = botocore.model.ServiceModel(json.load(f), service_name="gameliftstreams")
    if data.get("mode") == "validate":
        v = botocore.validate.ParamValidator()
        out = []
        for c in data["cases"]:
            report = v.validate(c["input"], sm.operation_model(c["operation"]).input_shape)
            out.append(report.generate_report().splitlines() if report.has_errors() else [])
        json.dump({"botocore": botocore.__version__, "results": out}, sys.stdout)
        return
    results = []
    for c in data["cases"]:
        b = botocore_request(sm, data["endpoint"], c["operation"], c["input"])
        g = c["gls"]
        diffs = []
        if b["method"] != g["method"]:
            diffs.append("method: botocore %s, gls %s" % (b["method"], g["method"]))
        if b["path"] != g["path"]:
            diffs.append("path: botocore %s, gls %s" % (b["path"], g["path"]))
        if norm_query(b["query"]) != norm_query(g["query"]):
            diffs.append("query: botocore %s, gls %s" % (b["query"], g["query"]))
        if norm_body(b["body"]) != norm_body(g["body"]):
            diffs.append("body: botocore %s, gls %s" % (b["body"], g["body"]))
        results.append({"operation": c["operation"], "same": not diffs, "diffs": diffs, "botocore": b})
    json.dump({"botocore": botocore.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
