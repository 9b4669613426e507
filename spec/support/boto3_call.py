#!/usr/bin/env python3
"""One GameLift Streams call through unmodified boto3, for the peer specs.

stdin:  {"endpoint": URL, "operation": "CreateStreamSessionConnection",
         "input": {...model member names...}, "access_key_id", "secret_access_key",
         "region", "waiter": "StreamSessionActive" (optional: wait instead of call)}
stdout: {"out": {...}} or {"error": {"code", "message", "status"}}

boto3 1.x knows GameLift Streams natively (24 operations); nothing of gls is
used here. Retries are off (max_attempts 1) so every error is the emulator's
first answer. Timestamps come back as ISO strings.
"""
import json
import sys

import boto3
import botocore
import botocore.config
import botocore.exceptions


def main():
    req = json.load(sys.stdin)
    session = boto3.session.Session(
        aws_access_key_id=req["access_key_id"],
        aws_secret_access_key=req["secret_access_key"],
        aws_session_token=req.get("session_token"),
        region_name=req.get("region", "us-west-2"))
    extra = {"signature_version": botocore.UNSIGNED} if req.get("unsigned") else {}
    client = session.client(
        "gameliftstreams", endpoint_url=req["endpoint"],
        config=botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}, **extra))
    try:
        if req.get("waiter"):
            snake = "".join("_" + c.lower() if c.isupper() else c for c in req["waiter"]).lstrip("_")
            client.get_waiter(snake).wait(
                **req["input"], WaiterConfig={"Delay": 0.05, "MaxAttempts": 40})
            out = {}
        else:
            names = {v: k for k, v in client.meta.method_to_api_mapping.items()}
            method = getattr(client, names[req["operation"]])
            out = method(**req["input"])
            out.pop("ResponseMetadata", None)
        print(json.dumps({"out": out}, default=str))
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        print(json.dumps({"error": {
            "code": err.get("Code"), "message": err.get("Message"),
            "status": e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")}}))
    except botocore.exceptions.WaiterError as e:
        print(json.dumps({"error": {"code": "WaiterError", "message": str(e), "status": None}}))


if __name__ == "__main__":
    main()
