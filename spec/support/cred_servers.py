#!/usr/bin/env python3
"""Credential endpoints for gls's credential tests, on 127.0.0.1 only.

    python3 spec/support/cred_servers.py [--port 0] [--tls-cert F --tls-key F]

First stdout line: "listening on http://127.0.0.1:PORT pid=PID". One
ThreadingHTTPServer (HTTP/1.1) serves:

  STS          POST /sts   form body (Action=AssumeRole | AssumeRoleWithWebIdentity,
                           Version=2011-06-15). AssumeRole must be SigV4-signed
                           (service "sts"); the signature is recomputed with
                           botocore.auth.SigV4Auth for a known key: the source key
                           AKIDSOURCE / "source/secret+key" (no session token), or
                           any key this server issued (its session token must come
                           too). Replies are the real XML shapes:
                           AssumeRoleResponse, AssumeRoleWithWebIdentityResponse,
                           ErrorResponse (Type/Code/Message, RequestId).
                           Issued keys are distinct per role ARN and per issue:
                             AccessKeyId  "ASIA" + 12 hex of sha1(arn) + issue number
                             Secret       "secret/" + AccessKeyId
                             SessionToken "token+" + AccessKeyId
                           and AssumedRoleUser/Arn is
                             arn:aws:sts::<account of the role ARN>:assumed-role/<role>/<session>.
                           Role ARNs that hold "denied" get 403 AccessDenied.
                           A role ARN that holds "needs-external-id" requires
                           ExternalId=ext-123 (else AccessDenied). SerialNumber needs
                           TokenCode=123456 (else AccessDenied). A WebIdentityToken
                           "bad-token" gets 400 InvalidIdentityToken.
  container    GET /container/creds   needs "Authorization: <container_token>"
                           (default "container-auth-token"; null = none needed), else 401.
                           Reply: AccessKeyId, SecretAccessKey, Token, Expiration,
                           AccountId, RoleArn.
  IMDS         PUT /latest/api/token  needs X-aws-ec2-metadata-token-ttl-seconds (400
                           without); answers a fresh token.
               GET /latest/meta-data/iam/security-credentials/         -> role name
               GET /latest/meta-data/iam/security-credentials/<role>   -> JSON with
                           Code "Success", LastUpdated, Type, AccessKeyId,
                           SecretAccessKey, Token, Expiration.
                           GETs need X-aws-ec2-metadata-token with an issued token
                           (401 without), unless imds_v1 is true.

Control API (unsigned, JSON bodies; every answer is JSON):
  POST /_ctl/fault   {"target": T, "status": 500, "body": "raw text", "delay": 1.5,
                      "count": 1}
                     queues a fault for the next `count` requests to target T, one of
                     "sts", "container", "imds-token", "imds-role", "imds-creds".
                     status/body replace the reply (body alone keeps status 200: a
                     malformed XML/JSON reply); delay sleeps that many seconds first
                     (then answers normally unless status/body are given).
  POST /_ctl/config  {"expiration": "2031-01-02T03:04:05Z", "container_token": "x"|null,
                      "imds_v1": bool, "imds_role": "name", "imds_code": "Success"}
                     sets what later replies use. expiration defaults to now + 1 hour
                     (whole seconds, "Z").
  GET  /_ctl/counters {"assume_role": n, "assume_role_by_arn": {arn: n},
                      "web_identity": n, "container": n, "imds_token": n,
                      "imds_role": n, "imds_creds": n, "bad_signature": n,
                      "last_sts": {form fields of the last STS request},
                      "last_container_auth": str|null}
  POST /_ctl/reset   clears counters, faults and config.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

SOURCE_KEYS = {"AKIDSOURCE": ("source/secret+key", None)}
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.keys = dict(SOURCE_KEYS)
        self.faults = []
        self.counters = {"assume_role": 0, "assume_role_by_arn": {}, "web_identity": 0,
                         "container": 0, "imds_token": 0, "imds_role": 0, "imds_creds": 0,
                         "bad_signature": 0, "last_sts": None, "last_container_auth": None}
        self.config = {"expiration": None, "container_token": "container-auth-token",
                       "imds_v1": False, "imds_role": "gls-test-role", "imds_code": "Success"}
        self.imds_tokens = set()

    def take_fault(self, target):
        with self.lock:
            for f in self.faults:
                if f["target"] == target and f.get("count", 1) > 0:
                    f["count"] = f.get("count", 1) - 1
                    if f["count"] <= 0:
                        self.faults.remove(f)
                    return f
        return None

    def expiration(self):
        if self.config["expiration"]:
            return self.config["expiration"]
        t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    def issue(self, arn):
        with self.lock:
            by = self.counters["assume_role_by_arn"]
            n = by.get(arn, 0) + 1
            by[arn] = n
            akid = "ASIA" + hashlib.sha1(arn.encode()).hexdigest()[:12].upper() + "%04d" % n
            secret, token = "secret/" + akid, "token+" + akid
            self.keys[akid] = (secret, token)
        return akid, secret, token


def verify_sigv4(state, method, path, headers, body):
    """-> None if the signature checks out, else (code, message)."""
    import botocore_sign

    h = {k.lower(): v for k, v in headers}
    auth = h.get("authorization")
    if not auth:
        return "MissingAuthenticationToken", "Request is missing Authentication Token"
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                 r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return "IncompleteSignature", "Authorization header is malformed"
    akid, _, region, service, signed, _ = m.groups()
    if service != "sts":
        return "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'."
    with state.lock:
        known = state.keys.get(akid)
    if not known:
        return "InvalidClientTokenId", "The security token included in the request is invalid."
    secret, token = known
    if token != h.get("x-amz-security-token"):
        return "InvalidClientTokenId", "The security token included in the request is invalid."
    try:
        when = datetime.datetime.strptime(h.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ")
    except ValueError:
        return "IncompleteSignature", "X-Amz-Date is missing or malformed"
    got = botocore_sign.authorization(method, "http://" + h.get("host", "localhost") + path, headers, body,
                                      signed.split(";"), akid, secret, token, service, region, when)
    if got != auth:
        return ("SignatureDoesNotMatch", "The request signature we calculated does not match the "
                "signature you provided. Check your AWS Secret Access Key and signing method.")
    return None


def xml_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def sts_error(status, code, message, type_="Sender"):
    body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n'
            '    <Message>%s</Message>\n  </Error>\n  <RequestId>%s</RequestId>\n'
            '</ErrorResponse>\n' % (STS_NS, type_, code, xml_escape(message), uuid.uuid4()))
    return status, body


def sts_success(action, arn, session, akid, secret, token, expiration, extra=""):
    parts = arn.split(":")
    account = parts[4] if len(parts) > 5 else "000000000000"
    role = arn.split("/")[-1]
    return 200, (
        '<%sResponse xmlns="%s">\n  <%sResult>\n%s    <AssumedRoleUser>\n'
        '      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:%s</AssumedRoleId>\n'
        '      <Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn>\n    </AssumedRoleUser>\n'
        '    <Credentials>\n      <AccessKeyId>%s</AccessKeyId>\n'
        '      <SecretAccessKey>%s</SecretAccessKey>\n      <SessionToken>%s</SessionToken>\n'
        '      <Expiration>%s</Expiration>\n    </Credentials>\n'
        '    <PackedPolicySize>6</PackedPolicySize>\n  </%sResult>\n'
        '  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n'
        '</%sResponse>\n' % (action, STS_NS, action, extra, xml_escape(session), account,
                             xml_escape(role), xml_escape(session), akid, xml_escape(secret),
                             xml_escape(token), expiration, action, uuid.uuid4(), action))


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "gls-cred-servers/1"

        def log_message(self, *a):
            pass

        def reply(self, status, body, ctype="application/json"):
            data = body.encode() if isinstance(body, str) else body
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def faulted(self, target, ctype):
            """Applies a queued fault; True if it replaced the reply."""
            f = state.take_fault(target)
            if not f:
                return False
            if f.get("delay"):
                time.sleep(float(f["delay"]))
            if "status" in f or "body" in f:
                self.reply(int(f.get("status", 200)), f.get("body", ""), ctype)
                return True
            return False

        # ---------------------------------------------------------- dispatch
        def do_GET(self):
            self.route("GET")

        def do_POST(self):
            self.route("POST")

        def do_PUT(self):
            self.route("PUT")

        def route(self, method):
            path = self.path.split("?")[0]
            body = self.body()
            try:
                if path.startswith("/_ctl/"):
                    return self.ctl(method, path, body)
                if path == "/sts" and method == "POST":
                    return self.sts(body)
                if path.startswith("/container/") and method == "GET":
                    return self.container()
                if path.startswith("/latest/"):
                    return self.imds(method, path)
                self.reply(404, json.dumps({"message": "no route"}))
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def ctl(self, method, path, body):
            arg = json.loads(body or b"{}")
            if path == "/_ctl/fault" and method == "POST":
                with state.lock:
                    state.faults.append(dict(arg))
            elif path == "/_ctl/config" and method == "POST":
                with state.lock:
                    state.config.update(arg)
            elif path == "/_ctl/reset" and method == "POST":
                with state.lock:
                    state.reset()
            elif path == "/_ctl/counters" and method == "GET":
                with state.lock:
                    return self.reply(200, json.dumps(state.counters))
            else:
                return self.reply(404, json.dumps({"message": "no such control"}))
            self.reply(200, "{}")

        # ---------------------------------------------------------- STS
        def sts(self, body):
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            with state.lock:
                state.counters["last_sts"] = form
            if self.faulted("sts", "text/xml"):
                return
            action = form.get("Action")
            if form.get("Version") != "2011-06-15":
                return self.reply(*sts_error(400, "InvalidAction", "Could not find operation "
                                             "%s for version %s" % (action, form.get("Version"))),
                                  "text/xml")
            arn, session = form.get("RoleArn", ""), form.get("RoleSessionName", "")
            if not arn or not session:
                return self.reply(*sts_error(400, "ValidationError",
                                             "RoleArn and RoleSessionName are required"),
                                  "text/xml")
            if action == "AssumeRole":
                bad = verify_sigv4(state, "POST", self.path, list(self.headers.items()), body)
                if bad:
                    with state.lock:
                        state.counters["bad_signature"] += 1
                    return self.reply(*sts_error(403, *bad), "text/xml")
                denied = None
                if "denied" in arn:
                    denied = "User: arn:aws:iam::123456789012:user/source is not authorized " \
                             "to perform: sts:AssumeRole on resource: " + arn
                elif "needs-external-id" in arn and form.get("ExternalId") != "ext-123":
                    denied = "ExternalId mismatch for " + arn
                elif "SerialNumber" in form and form.get("TokenCode") != "123456":
                    denied = "MultiFactorAuthentication failed with invalid MFA one time pass code."
                if denied:
                    return self.reply(*sts_error(403, "AccessDenied", denied), "text/xml")
                with state.lock:
                    state.counters["assume_role"] += 1
                akid, secret, token = state.issue(arn)
                return self.reply(*sts_success("AssumeRole", arn, session, akid, secret, token,
                                               state.expiration()), "text/xml")
            if action == "AssumeRoleWithWebIdentity":
                if self.headers.get("Authorization"):
                    return self.reply(*sts_error(400, "InvalidRequest",
                                                 "AssumeRoleWithWebIdentity is not signed"),
                                      "text/xml")
                tok = form.get("WebIdentityToken", "")
                if not tok or tok == "bad-token":
                    return self.reply(*sts_error(400, "InvalidIdentityToken",
                                                 "Couldn't retrieve verification key from "
                                                 "your identity provider"), "text/xml")
                with state.lock:
                    state.counters["web_identity"] += 1
                akid, secret, token = state.issue(arn)
                extra = ("    <SubjectFromWebIdentityToken>system:serviceaccount:default:gls"
                         "</SubjectFromWebIdentityToken>\n    <Audience>sts.amazonaws.com"
                         "</Audience>\n    <Provider>oidc.example.com</Provider>\n")
                return self.reply(*sts_success("AssumeRoleWithWebIdentity", arn, session, akid,
                                               secret, token, state.expiration(), extra),
                                  "text/xml")
            self.reply(*sts_error(400, "InvalidAction", "Could not find operation %s" % action),
                       "text/xml")

        # ---------------------------------------------------------- container
        def container(self):
            auth = self.headers.get("Authorization")
            with state.lock:
                state.counters["container"] += 1
                state.counters["last_container_auth"] = auth
                want = state.config["container_token"]
            if self.faulted("container", "application/json"):
                return
            if want is not None and auth != want:
                return self.reply(401, json.dumps({"code": "AccessDenied",
                                                   "message": "Authorization token mismatch"}))
            akid = "ASIACONTAINER0001"
            self.reply(200, json.dumps({
                "AccessKeyId": akid, "SecretAccessKey": "container/secret",
                "Token": "container+token", "Expiration": state.expiration(),
                "AccountId": "123456789012",
                "RoleArn": "arn:aws:iam::123456789012:role/container-role"}))

        # ---------------------------------------------------------- IMDS
        def imds(self, method, path):
            if path == "/latest/api/token" and method == "PUT":
                with state.lock:
                    state.counters["imds_token"] += 1
                if self.faulted("imds-token", "text/plain"):
                    return
                if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self.reply(400, "", "text/plain")
                tok = "imds-token-" + uuid.uuid4().hex
                with state.lock:
                    state.imds_tokens.add(tok)
                return self.reply(200, tok, "text/plain")
            if method != "GET":
                return self.reply(405, "", "text/plain")
            base = "/latest/meta-data/iam/security-credentials/"
            target = "imds-role" if path == base else "imds-creds"
            with state.lock:
                state.counters[target.replace("-", "_")] += 1
                ok_token = self.headers.get("X-aws-ec2-metadata-token") in state.imds_tokens
                v1 = state.config["imds_v1"]
                role = state.config["imds_role"]
                code = state.config["imds_code"]
            if self.faulted(target, "text/plain"):
                return
            if not ok_token and not v1:
                return self.reply(401, "", "text/plain")
            if path == base:
                return self.reply(200, role, "text/plain")
            if path != base + role:
                return self.reply(404, "", "text/plain")
            doc = {"Code": code, "LastUpdated": "2024-05-01T10:00:00Z", "Type": "AWS-HMAC",
                   "AccessKeyId": "ASIAIMDS00000001", "SecretAccessKey": "imds/secret",
                   "Token": "imds+token", "Expiration": state.expiration()}
            if code != "Success":
                doc = {"Code": code, "Message": "Instance profile is not trusted",
                       "LastUpdated": "2024-05-01T10:00:00Z"}
            self.reply(200, json.dumps(doc, indent=2), "text/plain")

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    ThreadingHTTPServer.request_queue_size = 1024
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(State()))
    scheme = "http"
    if args.tls_cert:  # every endpoint over HTTPS (TLS verification specs)
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    print("listening on %s://127.0.0.1:%d pid=%d" % (scheme, srv.server_address[1], os.getpid()),
          flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
