#!/usr/bin/env python3
"""Replays a script of send/reply events on botocore's own retry machinery.

usage: botocore_retry.py [SCRIPT.json]   (stdin when no file is given)

input:  {"mode": "standard" | "adaptive", "max_attempts": N,
         "events": [
           {"t": seconds, "event": "send"},
           {"t": seconds, "event": "reply", "req": id, "attempt": n (1-based),
            "code": error code or null, "status": HTTP status or null,
            "exc": null | "read_timeout" | "connect_timeout",
            "rand": the value botocore's random() returns for the backoff}]}
output: {"botocore": version, "results": [one object per event:
           {"quota", "enabled", "fill_rate", "max_capacity", "capacity",
            "measured_rate", "w_max", "k", "last_fail",
            send:  "wait" (seconds until a token; 0 = a token was taken),
            reply: "throttled" (bool), "delay" (seconds, or null = no retry)}]}

The handlers are botocore's, registered by botocore's own
register_retry_handler functions on a botocore HierarchicalEmitter with the
gameliftstreams service model, and the events are emitted as
botocore.endpoint and botocore.client emit them (needs-retry after every
attempt, after-call when a call ends with a response). Two things are
injected the way botocore's unit tests do it: a fake clock (bucket.Clock is
replaced while the adaptive handler is registered, so CubicCalculator,
TokenBucket and RateClocker all read it) and the backoff's random(). The
limiter is created at the first event's time. before-send is not emitted:
its handler blocks on the token bucket; the script calls the same
TokenBucket.acquire non-blocking and reports TokenBucket._sleep_amount(1)
when no token is there, which is what gls returns instead of sleeping.

botocore's "new retries 2026" opt-in (AWS_NEW_RETRIES_2026) is forced off:
gls implements the released standard/adaptive behaviour.
"""
import json
import os
import sys
import types

os.environ["AWS_NEW_RETRIES_2026"] = "false"

import botocore  # noqa: E402
import botocore.session  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402
from botocore.exceptions import (  # noqa: E402
    CapacityNotAvailableError,
    ConnectTimeoutError,
    ReadTimeoutError,
)
from botocore.hooks import HierarchicalEmitter, first_non_none_response  # noqa: E402
from botocore.retries import adaptive, bucket, standard  # noqa: E402

OPERATION = "GetStreamSession"


class FakeClock:
    """bucket.Clock with a settable time; sleeping is never expected."""

    def __init__(self):
        self.t = 0.0

    def current_time(self):
        return self.t

    def sleep(self, amount):
        raise AssertionError("botocore tried to sleep %r s" % amount)


def make_exception(kind):
    if kind == "read_timeout":
        return ReadTimeoutError(endpoint_url="https://gameliftstreams.invalid/")
    if kind == "connect_timeout":
        return ConnectTimeoutError(endpoint_url="https://gameliftstreams.invalid/")
    raise ValueError("unknown exception kind %r" % kind)


def main():
    script = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
    service_model = botocore.session.get_session().get_service_model("gameliftstreams")
    op = service_model.operation_model(OPERATION)
    service_id = service_model.service_id.hyphenize()
    events = HierarchicalEmitter()
    client = types.SimpleNamespace(meta=types.SimpleNamespace(events=events, service_model=service_model))

    handler = standard.register_retry_handler(client, max_attempts=script["max_attempts"])
    current_rand = [None]

    def scripted_random():
        if current_rand[0] is None:
            raise AssertionError("backoff asked for a random number the script did not give")
        return current_rand[0]

    handler._retry_policy._retry_backoff._random = scripted_random
    quota = handler._retry_quota._quota

    detector = standard.ThrottlingErrorDetector(standard.RetryEventAdapter())
    clock = FakeClock()
    limiter = None
    contexts = {}
    results = []
    for ev in script["events"]:
        clock.t = ev["t"]
        if script["mode"] == "adaptive" and limiter is None:
            real_clock = bucket.Clock
            bucket.Clock = lambda: clock
            try:
                limiter = adaptive.register_retry_handler(client)
            finally:
                bucket.Clock = real_clock
        out = {}
        if ev["event"] == "send":
            wait = 0
            if limiter is not None and limiter._enabled:
                try:
                    limiter._token_bucket.acquire(1, block=False)
                except CapacityNotAvailableError:
                    wait = limiter._token_bucket._sleep_amount(1)
            out["wait"] = wait
        elif ev["event"] == "reply":
            if ev["attempt"] == 1:
                contexts[ev["req"]] = {}
            ctx = contexts[ev["req"]]
            exc = make_exception(ev["exc"]) if ev.get("exc") else None
            if exc is not None:
                http, response = None, None
            else:
                http = AWSResponse("https://gameliftstreams.invalid/", ev["status"], {}, None)
                parsed = {"ResponseMetadata": {"HTTPStatusCode": ev["status"]}}
                if ev.get("code"):
                    parsed["Error"] = {"Code": ev["code"], "Message": ""}
                response = (http, parsed)
            kwargs = dict(
                response=response,
                endpoint=None,
                operation=op,
                attempts=ev["attempt"],
                caught_exception=exc,
                request_dict={"context": ctx},
            )
            # What ClientRateLimiter.on_receiving_response decides with.
            out["throttled"] = detector.is_throttling_error(**kwargs)
            current_rand[0] = ev["rand"]
            responses = events.emit(f"needs-retry.{service_id}.{OPERATION}", **kwargs)
            current_rand[0] = None
            delay = first_non_none_response(responses)
            if delay is False:
                delay = None
            out["delay"] = delay
            if delay is None and http is not None:
                events.emit(
                    f"after-call.{service_id}.{OPERATION}",
                    http_response=http,
                    parsed=response[1],
                    model=op,
                    context=ctx,
                )
        else:
            raise ValueError("unknown event %r" % ev["event"])
        out["quota"] = quota.available_capacity
        if limiter is not None:
            tb, cubic = limiter._token_bucket, limiter._rate_adjustor.get_params_snapshot()
            out.update(
                enabled=limiter._enabled,
                fill_rate=tb.max_rate,
                max_capacity=tb.max_capacity,
                capacity=tb.available_capacity,
                measured_rate=limiter._rate_clocker.measured_rate,
                w_max=cubic.w_max,
                k=cubic.k,
                last_fail=cubic.last_fail,
            )
        results.append(out)
    json.dump({"botocore": botocore.__version__, "results": results}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
