#!/usr/bin/env python3
"""A small GameLift Streams test server for gls's integration tests.

    python3 spec/support/fake_service.py [--port 0] [--model PATH] [--no-verify]
                                         [--tls-cert F --tls-key F]

First stdout line: "listening on http(s)://127.0.0.1:PORT pid=PID". It speaks the
service's rest-json wire format for all operations of the model it reads:
routes by method and request URI template, checks every SigV4 signature with
botocore (the independent peer), answers with the model's success status,
x-amzn-RequestId, and X-Amzn-ErrorType + {"message"} on errors.

Defaults are plausible outputs built from the model's output shapes, with a
few overrides; CreateStreamSessionConnection answers
"answer-for:" + sha256(SignalRequest), so a test can prove which answer goes
with which offer. List operations page over 5 items (MaxResults, NextToken).

Like the service, it refuses a signature whose X-Amz-Date is more than 5
minutes off its clock ("Signature expired: ..."), with a Date header a client
can correct from. A request in absolute form ("GET http://host/path") is
served as a forward proxy would pass it on, and recorded with proxied=true.

Control API (unsigned), for tests:
  POST /_test/enqueue  [{"status", "headers": {}, "body": "raw", "delay": s, "drop": bool}, ...]
                       canned replies for the next API requests, in order
  GET  /_test/requests every API request so far, oldest first:
                       {"operation", "method", "path", "query", "headers": [[n, v]],
                        "body", "signature_ok", "peer"}
  POST /_test/reset    clears both

This is a test fixture, not the emulator: no state, no lifecycle.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import signal
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, parse_qs

KEYS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                      "Check your AWS Secret Access Key and signing method. Consult the service "
                      "documentation for details.")


class Model:
    def __init__(self, path):
        with open(path) as f:
            m = json.load(f)
        self.shapes = m["shapes"]
        self.routes = []
        for name, op in m["operations"].items():
            uri = op["http"]["requestUri"].split("?")[0]
            labels = re.findall(r"{([^}]+)}", uri)
            rx = "^" + re.sub(r"{[^}]+}", "([^/]+)", uri) + "$"
            self.routes.append((op["http"]["method"], re.compile(rx), labels, name, op))
        # longer templates first, so /a/{x}/b beats /a/{x}
        self.routes.sort(key=lambda r: -len(r[1].pattern))

    def route(self, method, path):
        for m, rx, labels, name, op in self.routes:
            mt = rx.match(path)
            if m == method and mt:
                return name, op, {k.rstrip("+"): unquote(v) for k, v in zip(labels, mt.groups())}
        return None, None, None

    def sample(self, shape_name, member="Value", depth=0):
        s = self.shapes[shape_name]
        t = s["type"]
        if t == "structure":
            if depth > 3:
                return {}
            return {k: self.sample(v["shape"], k, depth + 1) for k, v in s.get("members", {}).items()}
        if t == "list":
            return [self.sample(s["member"]["shape"], member, depth + 1)] if depth <= 3 else []
        if t == "map":
            return {"key": self.sample(s["value"]["shape"], member, depth + 1)}
        if t == "string":
            if "enum" in s:
                return s["enum"][0]
            if member.endswith("Arn"):
                return "arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1AB2C3De4"
            return "sample-" + member
        if t in ("integer", "long"):
            return max(1, int(s.get("min", 1)))
        if t == "boolean":
            return True
        if t == "timestamp":
            return 1700000000
        if t in ("double", "float"):
            return 1.5
        return "c2FtcGxl"

    def error_status(self, code):
        s = self.shapes.get(code, {})
        return s.get("error", {}).get("httpStatusCode", 400)


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.queue = []
        self.requests = []


def verify(method, raw_path, query, headers, body):
    """-> (ok, error_code, message). Recomputes the signature with botocore."""
    import botocore_sign

    h = {k.lower(): v for k, v in headers}
    auth = h.get("authorization")
    if not auth:
        return False, "MissingAuthenticationTokenException", "Missing Authentication Token"
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                 r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return False, "IncompleteSignatureException", "Authorization header is malformed"
    akid, _, region, service, signed, _ = m.groups()
    if akid not in KEYS:
        return False, "UnrecognizedClientException", "The security token included in the request is invalid."
    amz_date = h.get("x-amz-date", "")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return False, "IncompleteSignatureException", "X-Amz-Date is missing or malformed"
    host = h.get("host", "localhost")
    url = "http://" + host + raw_path + ("?" + query if query else "")
    got = botocore_sign.authorization(method, url, headers, body, signed.split(";"), akid,
                                      KEYS[akid], h.get("x-amz-security-token"), service, region, when)
    if got != auth:
        return False, "InvalidSignatureException", SIGNATURE_MISMATCH
    return True, None, None


def check_time(headers):
    """The service refuses signatures more than 5 minutes off its clock."""
    h = {k.lower(): v for k, v in headers}
    try:
        when = datetime.datetime.strptime(h.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ")
    except ValueError:
        return True, None, None  # verify() reports a missing/malformed date
    when = when.replace(tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = "%Y%m%dT%H%M%SZ"
    if when < now - datetime.timedelta(minutes=5):
        return False, "InvalidSignatureException", "Signature expired: %s is now earlier than %s (%s - 5 min.)" % (
            when.strftime(fmt), (now - datetime.timedelta(minutes=5)).strftime(fmt), now.strftime(fmt))
    if when > now + datetime.timedelta(minutes=5):
        return False, "InvalidSignatureException", "Signature not yet current: %s is still later than %s (%s + 5 min.)" % (
            when.strftime(fmt), (now + datetime.timedelta(minutes=5)).strftime(fmt), now.strftime(fmt))
    return True, None, None


def make_handler(model, state, check_sig):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fake-gameliftstreams/1"

        def log_message(self, *a):
            pass

        def reply(self, status, body=b"", headers=None):
            self.send_response(status)
            hdrs = {"x-amzn-RequestId": str(uuid.uuid4()), "Content-Type": "application/json"}
            hdrs.update(headers or {})
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        def error(self, status, code, message):
            self.reply(status, json.dumps({"message": message}).encode(), {"X-Amzn-ErrorType": code})

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            target = self.path
            proxied = target.startswith("http://")  # absolute-form: we are acting as a forward proxy
            if proxied:
                target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
            raw_path, _, query = target.partition("?")
            if raw_path.startswith("/_test/"):
                return self.control(raw_path, body)
            name, op, labels = model.route(self.command, raw_path)
            headers = list(self.headers.items())
            ok, code, msg = (True, None, None)
            if check_sig:
                ok, code, msg = check_time(headers)
                if ok:
                    ok, code, msg = verify(self.command, raw_path, query, headers, body)
            with state.lock:
                state.requests.append({
                    "operation": name, "method": self.command, "path": raw_path, "query": query,
                    "headers": headers, "body": body.decode("utf-8", "replace"), "signature_ok": ok,
                    "peer": self.client_address[1], "proxied": proxied})
                canned = state.queue.pop(0) if state.queue else None
            if canned is not None:
                if canned.get("delay"):
                    time.sleep(canned["delay"])
                if canned.get("drop"):
                    self.close_connection = True
                    return
                return self.reply(canned.get("status", 200), canned.get("body", "").encode(),
                                  canned.get("headers"))
            if not ok:
                return self.error(400 if code == "IncompleteSignatureException" else 403, code, msg)
            if not name:
                return self.error(404, "UnknownOperationException", "no operation at %s %s" % (self.command, raw_path))
            try:
                return self.default(name, op, labels, query, body)
            except Exception as e:  # a fixture bug must still answer
                return self.error(500, "InternalServerException", "fake service: %r" % e)

        def default(self, name, op, labels, query, body):
            status = op["http"].get("responseCode", 200)
            if "output" not in op:
                return self.reply(status)
            inp = json.loads(body) if body else {}
            out = model.sample(op["output"]["shape"])
            q = {k: v[0] for k, v in parse_qs(query).items()}
            if name == "CreateStreamSessionConnection":
                digest = hashlib.sha256(inp.get("SignalRequest", "").encode()).hexdigest()
                out = {"SignalResponse": "answer-for:" + digest}
            elif name in ("GetStreamSession", "StartStreamSession"):
                out["Status"] = "ACTIVE" if name == "GetStreamSession" else "ACTIVATING"
                out["StreamGroupId"] = labels.get("Identifier", "sg-1")
                out["SignalRequest"] = inp.get("SignalRequest", "")
                out["SignalResponse"] = "answer-for:" + hashlib.sha256(
                    out["SignalRequest"].encode()).hexdigest() if name == "GetStreamSession" else ""
            elif "Items" in out and "NextToken" in out:
                tok = re.match(r"^page-(\d+)$", q.get("NextToken", ""))
                start = int(tok.group(1)) if tok else 0
                size = int(q.get("MaxResults", "100"))
                item = out["Items"][0]
                items = [dict(item, Arn="%s-%d" % (item.get("Arn", "arn"), i)) for i in range(5)]
                out["Items"] = items[start:start + size]
                if start + size < len(items):
                    out["NextToken"] = "page-%d" % (start + size)
                else:
                    del out["NextToken"]
            return self.reply(status, json.dumps(out).encode())

        def control(self, path, body):
            if path == "/_test/enqueue":
                items = json.loads(body or b"[]")
                with state.lock:
                    state.queue.extend(items)
                return self.reply(200, b"{}")
            if path == "/_test/requests":
                with state.lock:
                    data = json.dumps(state.requests).encode()
                return self.reply(200, data)
            if path == "/_test/reset":
                with state.lock:
                    state.queue.clear()
                    state.requests.clear()
                return self.reply(200, b"{}")
            return self.error(404, "NotFound", "no control path " + path)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--model", default=os.path.join(os.environ.get("GLS_SHARED", "../shared"),
                                                    "reference/gameliftstreams/service-2.json"))
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    if not a.no_verify:
        import botocore.auth  # noqa: F401  fail now, not at the first request
    ThreadingHTTPServer.request_queue_size = 1024  # socketserver's 5 drops SYNs under load
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(Model(a.model), State(), not a.no_verify))
    srv.daemon_threads = True
    scheme = "http"
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print("listening on %s://127.0.0.1:%d pid=%d" % (scheme, srv.server_address[1], os.getpid()), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    sys.exit(main())
