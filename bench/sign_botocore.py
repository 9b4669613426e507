#!/usr/bin/env python3
"""Nanoseconds per signature with botocore's SigV4Auth (bench/sign).

Usage: sign_botocore.py REQUEST.json   (written by `build/bench_sign --request-json`)
Prints human lines, then "botocore_ns=<int>" (median of several batches).
Each iteration signs a fresh AWSRequest (made outside the timed region) with
the real clock, as botocore does for every call.
"""
import json
import statistics
import sys
import time

import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BATCHES = 7
ITERS = 2000


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        req = json.load(f)
    creds = Credentials(req["access_key_id"], req["secret_access_key"], req["session_token"])
    auth = SigV4Auth(creds, req["service"], req["region"])
    body = req["body"].encode("utf-8")

    def fresh():
        r = AWSRequest(method=req["method"], url=req["url"], data=body)
        for name, value in req["headers"]:
            r.headers[name] = value
        return r

    results = []
    for b in range(BATCHES + 1):  # the first batch warms up
        batch = [fresh() for _ in range(ITERS)]
        t = time.perf_counter_ns()
        for r in batch:
            auth.add_auth(r)
        ns = (time.perf_counter_ns() - t) / ITERS
        if b:
            results.append(ns)
    med = statistics.median(results)
    print(f"botocore {botocore.__version__}: {med:.0f} ns/signature "
          f"(median of {BATCHES} x {ITERS}; min {min(results):.0f}, max {max(results):.0f})")
    print(f"botocore_ns={round(med)}")


if __name__ == "__main__":
    main()
