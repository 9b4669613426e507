#!/usr/bin/env python3
"""fuzz/seeds.py - writes the seed corpora of the C targets (fuzz/corpus/NAME/)
from real inputs: the AWS SigV4 test suite, real AWS config files, the replies
the emulator and the credential endpoints send, the model's sample inputs.

Run from anywhere: python3 fuzz/seeds.py [TARGET...] (default: all); the
shared inputs come from $GLS_SHARED (default ../shared beside the checkout). Seeds are small files named
by what they hold; existing seeds with the same name are replaced, others kept.
The input formats are described at the top of each fuzz/NAME.c."""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("GLS_SHARED", os.path.join(ROOT, "..", "shared"))
TARGETS = []


def target(fn):
    TARGETS.append(fn)
    return fn


def put(target, name, data):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def fields(*parts):
    return b"\0".join(p.encode() if isinstance(p, str) else p for p in parts)


# ---------------------------------------------------------------- sigv4
@target
def sigv4():
    vdir = os.path.join(SHARED, "sigv4-vectors")
    for name in sorted(os.listdir(vdir)):
        req = os.path.join(vdir, name, "request.txt")
        if not os.path.exists(req):
            continue
        ctx = json.load(open(os.path.join(vdir, name, "context.json")))
        text = open(req, "rb").read().decode("utf-8")
        head, _, body = text.partition("\n\n")
        lines = head.split("\n")
        method, rest = lines[0].split(" ", 1)
        target = rest.rsplit(" ", 1)[0]
        path, _, query = target.partition("?")
        headers = []
        for line in lines[1:]:
            if line.startswith((" ", "\t")) and headers:  # a folded value
                headers[-1][1] += "\n" + line
                continue
            k, _, v = line.partition(":")
            headers.append([k, v])
        token = ctx["credentials"].get("token", "")
        for form in (0, 4):  # header form, query form
            flags = form | (1 if ctx.get("normalize") else 0) | 2
            flags |= 8 if ctx.get("sign_body") else 0
            hs = []
            for k, v in headers:
                hs += [k, v]
            data = bytes([flags, len(headers), 0]) + fields(
                method, path, query, ctx["region"], ctx["service"], token, *hs, body)
            put("sigv4", "%s-%s" % (name, "query" if form else "header"), data)
        # S3-style: neither normalised nor encoded twice
        data = bytes([0, len(headers), 1]) + fields(
            method, path, query, ctx["region"], ctx["service"], "", *hs, body)
        put("sigv4", name + "-s3", data)
    # a GameLift Streams call as gls sends it
    put("sigv4", "gameliftstreams-connection", bytes([3, 2, 0]) + fields(
        "POST", "/streamgroups/sg-1AB2C3De4/streamsessions/arn%3Aaws%3Agameliftstreams%3Aus-west-2"
        "%3A123456789012%3Astreamsession%2Fsg-1AB2C3De4%2FABC123def4567/connections",
        "", "us-west-2", "gameliftstreams", "",
        "Host", "gameliftstreams.us-west-2.api.aws", "Content-Type", "application/json",
        '{"SignalRequest":"v=0","ClientToken":"3f0c6b6e-3d29-4b6c-9b1a-0c1d2e3f4a5b"}'))


# ---------------------------------------------------------------- awsconfig
def c_string_args(text, fn):
    """The leading string-literal arguments of every call fn(...) in C source
    text: a list per call (adjacent literals joined; NULL is None)."""
    import ast
    import re
    lit = r'"(?:[^"\\\n]|\\.)*"'
    calls = []
    for m in re.finditer(r"\b%s\(" % re.escape(fn), text):
        pos, args = m.end(), []
        while True:
            ws = re.match(r"\s*", text[pos:])
            pos += ws.end()
            if text.startswith("NULL", pos):
                args.append(None)
                pos += 4
            else:
                parts = []
                while True:
                    lm = re.match(r"\s*(%s)" % lit, text[pos:])
                    if not lm:
                        break
                    parts.append(ast.literal_eval(lm.group(1)))
                    pos += lm.end()
                if not parts:
                    break
                args.append("".join(parts))
            cm = re.match(r"\s*,", text[pos:])
            if not cm:
                break
            pos += cm.end()
        if args:
            calls.append(args)
    return calls


REAL_CONFIGS = [
    ("sso", "[default]\nregion = us-west-2\noutput = json\n\n"
     "[profile dev]\nsso_session = my-sso\nsso_account_id = 123456789012\n"
     "sso_role_name = ReadOnly\nregion = us-east-1\n\n"
     "[sso-session my-sso]\nsso_region = us-east-1\n"
     "sso_start_url = https://my-sso-portal.awsapps.com/start\n"
     "sso_registration_scopes = sso:account:access\n", ""),
    ("assume-role-chain", "[profile base]\nregion = us-west-2\n\n"
     "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\n"
     "source_profile = base\nrole_session_name = gls\nduration_seconds = 3600\n"
     "external_id = ext-1\n\n[profile loop-a]\nrole_arn = arn:aws:iam::1:role/a\n"
     "source_profile = loop-b\n[profile loop-b]\nrole_arn = arn:aws:iam::1:role/b\n"
     "source_profile = loop-a\n",
     "[base]\naws_access_key_id = AKIDEXAMPLE\n"
     "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"),
    ("services-nested", "[default]\nservices = local\nregion = us-west-2\n"
     "s3 =\n  max_concurrent_requests = 20\n  addressing_style = path\n\n"
     "[services local]\ngameliftstreams =\n  endpoint_url = http://127.0.0.1:9000\n"
     "sts =\n  endpoint_url = http://127.0.0.1:9001\n", ""),
    ("credential-process", "[profile proc]\n"
     "credential_process = /usr/bin/printf '{\"Version\": 1}'\n"
     "[profile src]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Ec2InstanceMetadata\n"
     "[profile web]\nrole_arn = arn:aws:iam::1:role/w\nweb_identity_token_file = /tmp/token\n",
     "[default]\naws_access_key_id=AKIDEXAMPLE\naws_secret_access_key=secret\n"
     "aws_session_token=token\n"),
    ("imds", "[default]\nec2_metadata_service_endpoint_mode = IPv6\n"
     "metadata_service_timeout = 2\nmetadata_service_num_attempts = 3\n"
     "[DEFAULT]\nregion = eu-west-1\n", ""),
]
ENVS = ["", "AWS_EC2_METADATA_DISABLED=true\n",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/x\n"
        "AWS_CONTAINER_AUTHORIZATION_TOKEN=tok\n",
        "AWS_WEB_IDENTITY_TOKEN_FILE=/tmp/t\nAWS_ROLE_ARN=arn:aws:iam::1:role/r\n",
        "AWS_ACCESS_KEY_ID=AKIDEXAMPLE\n"]


@target
def awsconfig():
    text = open(os.path.join(ROOT, "test", "test_awsconfig.c")).read()
    n = 0
    for fn in ("load", "expect_error"):
        for args in c_string_args(text, fn):
            config = args[0] or ""
            creds = (args[1] or "") if fn == "load" and len(args) > 1 else ""
            put("awsconfig", "test-%s-%02d" % (fn, n), fields(ENVS[n % len(ENVS)], config, creds))
            n += 1
    for i, (name, config, creds) in enumerate(REAL_CONFIGS):
        for j, env in enumerate(ENVS):
            put("awsconfig", "%s-env%d" % (name, j), fields(env, config, creds))


# ---------------------------------------------------------------- creds
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def sts_reply(action, extra=""):
    return ('<%sResponse xmlns="%s">\n  <%sResult>\n%s    <AssumedRoleUser>\n'
            '      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:gls</AssumedRoleId>\n'
            '      <Arn>arn:aws:sts::123456789012:assumed-role/demo/gls</Arn>\n'
            '    </AssumedRoleUser>\n    <Credentials>\n'
            '      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n'
            '      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n'
            '      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW'
            '</SessionToken>\n      <Expiration>2026-12-02T15:00:00Z</Expiration>\n'
            '    </Credentials>\n    <PackedPolicySize>6</PackedPolicySize>\n  </%sResult>\n'
            '  <ResponseMetadata>\n    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7'
            '</RequestId>\n  </ResponseMetadata>\n</%sResponse>\n' % (action, STS_NS, action, extra,
                                                                      action, action))


@target
def creds():
    key = {"AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
           "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"}
    proc = dict(key, Version=1, SessionToken="process+token", Expiration="2026-12-02T15:00:00Z")
    container = dict(key, Token="container+token", Expiration="2026-12-02T15:00:00.123+01:00",
                     AccountId="123456789012", RoleArn="arn:aws:iam::123456789012:role/demo")
    imds = dict(key, Code="Success", LastUpdated="2026-12-02T13:00:00Z", Type="AWS-HMAC",
                Token="imds+token", Expiration="2026-12-02T19:00:00Z")
    seeds = {
        "process": (0, json.dumps(proc)),
        "process-static": (0, json.dumps(dict(key, Version=1))),
        "process-v2": (0, json.dumps(dict(proc, Version=2))),
        "process-no-secret": (0, json.dumps({"Version": 1, "AccessKeyId": "AKID"})),
        "process-bad-expiration": (0, json.dumps(dict(proc, Expiration="tomorrow"))),
        "process-not-json": (0, "token expired, run aws sso login"),
        "container": (1, json.dumps(container)),
        "container-no-token": (1, json.dumps(key)),
        "container-array": (1, "[1, 2]"),
        "imds": (2, json.dumps(imds)),
        "imds-failure": (2, json.dumps({"Code": "AssumeRoleUnauthorizedAccess",
                                        "Message": "EC2 cannot assume the role"})),
        "imds-no-expiration": (2, json.dumps(dict(imds, Expiration=None))),
    }
    for name, (kind, text) in seeds.items():
        put("creds", name, bytes([kind, 0]) + text.encode())
    put("creds", "sts-assume-role", bytes([3, 0]) + sts_reply("AssumeRole").encode())
    put("creds", "sts-web-identity", bytes([3, 0]) + sts_reply(
        "AssumeRoleWithWebIdentity",
        "    <SubjectFromWebIdentityToken>system:serviceaccount:default:gls"
        "</SubjectFromWebIdentityToken>\n    <Audience>sts.amazonaws.com</Audience>\n"
        "    <Provider>oidc.example.com</Provider>\n").encode())
    put("creds", "sts-error", bytes([3, 2]) + (
        '<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>Sender</Type>\n'
        '    <Code>AccessDenied</Code>\n    <Message>User: arn:aws:iam::123456789012:user/x is '
        'not authorized to perform: sts:AssumeRole</Message>\n  </Error>\n'
        '  <RequestId>4f4b3c28-1b2c-4d5e-8f90-0a1b2c3d4e5f</RequestId>\n</ErrorResponse>\n'
        % STS_NS).encode())
    put("creds", "sts-doctype", bytes([3, 0]) + b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<x>&a;</x>')


# ---------------------------------------------------------------- serve
def http_text(method, target, headers, body):
    head = "%s %s\n" % (method, target) + "".join("%s: %s\n" % h for h in headers)
    return head + "\n" + body


@target
def serve():
    offer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    tok = "Zq3mN8sVb1xT0kPqR7uW2yE5aD4fG6hJ9cL0oI1uY2t"
    js = [("Content-Type", "application/json"), ("X-Gls-Client-Id", "player-42")]
    reqs = {
        "start": ("POST", "/v1/sessions", json.dumps({
            "SignalRequest": offer, "Identifier": "sg-1AB2C3De4",
            "ApplicationIdentifier": "a-9ZY8X7Wv6", "UserId": "player-42",
            "ConnectionTimeoutSeconds": 120})),
        "start-minimal": ("POST", "/v1/sessions", json.dumps({"SignalRequest": offer})),
        "start-wrong-method": ("GET", "/v1/sessions", ""),
        "answer": ("GET", "/v1/sessions/%s/answer?wait=20" % tok, ""),
        "answer-bad-wait": ("GET", "/v1/sessions/%s/answer?x=1&wait=-1" % tok, ""),
        "reconnect": ("POST", "/v1/sessions/%s/reconnect" % tok, json.dumps({"SignalRequest": offer})),
        "terminate": ("DELETE", "/v1/sessions/%s" % tok, ""),
        "api-create": ("POST", "/api/CreateStreamSession", json.dumps({
            "SignalRequest": offer, "StreamGroupId": "sg-1AB2C3De4", "AppIdentifier": "a-9ZY8X7Wv6"})),
        "api-signal": ("POST", "/api/GetSignalResponse", json.dumps({"Token": tok})),
        "api-reconnect": ("POST", "/api/ReconnectStreamSession", json.dumps({"Token": tok, "SignalRequest": offer})),
        "api-destroy": ("POST", "/api/DestroyStreamSession", json.dumps({"Token": tok})),
        "healthz": ("GET", "/healthz", ""),
        "metrics": ("GET", "/metrics", ""),
        "unknown": ("PUT", "/v2/x", "{}"),
        "bad-json": ("POST", "/v1/sessions", '{"SignalRequest": "v=0", '),
        "array-body": ("POST", "/api/GetSignalResponse", "[1,2,3]"),
    }
    for i, (name, (m, t, b)) in enumerate(sorted(reqs.items())):
        put("serve", name, bytes([i % 6]) + http_text(m, t, js, b).encode())


# ---------------------------------------------------------------- jmespath
@target
def jmespath():
    cdir = os.path.join(SHARED, "jmespath-compliance")
    n = 0
    for name in sorted(os.listdir(cdir)):
        if not name.endswith(".json") or name == "benchmarks.json":
            continue
        for gi, group in enumerate(json.load(open(os.path.join(cdir, name)))):
            given = json.dumps(group.get("given"), separators=(",", ":"))
            for ci, case in enumerate(group["cases"]):
                data = case["expression"].encode() + b"\0" + given.encode()
                if len(data) > 2000:
                    continue
                put("jmespath", "%s-%d-%d" % (name[:-5], gi, ci), data)
                n += 1


# ---------------------------------------------------------------- cli
@target
def cli():
    offer = "v=0 o=- 1 2 IN IP4 127.0.0.1"
    lines = {
        "get-stream-group": ["get-stream-group", "--identifier", "sg-1AB2C3De4"],
        "get-stream-group-arn": ["get-stream-group", "--identifier",
                                 "arn:aws:gameliftstreams:us-west-2:123456789012:streamgroup/sg-1AB2C3De4",
                                 "--output", "text"],
        "list-paging": ["list-stream-groups", "--max-items", "3", "--page-size", "2",
                        "--starting-token", "eyJOZXh0VG9rZW4iOiBudWxsfQ=="],
        "list-no-paginate": ["list-stream-groups", "--no-paginate", "--max-results", "2", "--output", "table"],
        "query": ["list-stream-sessions", "--identifier", "sg-1AB2C3De4", "--query",
                  "Items[?Status=='ACTIVE'].{arn: Arn, user: UserId} | sort_by(@, &arn)[:2]", "--output", "yaml"],
        "connection": ["create-stream-session-connection", "--identifier", "sg-1AB2C3De4",
                       "--stream-session-identifier", "ABC123def4567", "--signal-request", offer],
        "start-shorthand": ["start-stream-session", "--identifier", "sg-1AB2C3De4", "--protocol", "WebRTC",
                            "--application-identifier", "a-9ZY8X7Wv6", "--signal-request", offer,
                            "--locations", "us-east-1", "us-west-2",
                            "--performance-stats-configuration", "SharedWithClient=true",
                            "--additional-environment-variables", "A=1,B=two",
                            "--connection-timeout-seconds", "120"],
        "create-group-json": ["create-stream-group", "--description", "EU players", "--stream-class",
                              "gen4n_high", "--location-configurations",
                              '[{"LocationName":"eu-central-1","AlwaysOnCapacity":1}]',
                              "--tags", '{"team":"net"}'],
        "create-app": ["create-application", "--description", "game", "--runtime-environment",
                       "Type=PROTON,Version=20241007", "--executable-path", "bin/game.exe",
                       "--application-source-uri", "s3://bucket/game/", "--application-log-paths",
                       "logs/", "crash/"],
        "url": ["create-stream-url", "--identifier", "sg-1AB2C3De4", "--application-identifier",
                "a-9ZY8X7Wv6", "--protocol", "WebRTC", "--display-configuration",
                "Resolution={Width=1920,Height=1080}", "--additional-launch-args", "-fullscreen",
                "--usage-limit", "3"],
        "input-file": ["get-stream-session", "--cli-input-json", "file:///fuzz/data"],
        "input-yaml": ["get-stream-session", "--cli-input-yaml", "file:///fuzz/data"],
        "skeleton": ["start-stream-session", "--generate-cli-skeleton", "input"],
        "skeleton-yaml": ["create-stream-url", "--generate-cli-skeleton", "yaml-input"],
        "skeleton-output": ["get-stream-group", "--generate-cli-skeleton", "output"],
        "wait": ["wait", "stream-session-active", "--identifier", "sg-1AB2C3De4",
                 "--stream-session-identifier", "ABC123def4567"],
        "help": ["create-stream-session-connection", "help"],
        "top-help": ["help"],
        "debug-globals": ["--debug", "--region", "eu-west-1", "--endpoint-url", "http://127.0.0.1:9000",
                          "--no-verify-ssl", "--cli-read-timeout", "5", "--color", "off",
                          "get-application", "--identifier", "a-9ZY8X7Wv6"],
        "no-sign": ["--no-sign-request", "list-applications", "--max-items", "1"],
        "bad-option": ["get-stream-group", "--identifer", "sg-1"],
        "blob-format": ["--cli-binary-format", "raw-in-base64-out", "tag-resource", "--resource-arn",
                        "arn:aws:gameliftstreams:us-west-2:123456789012:streamgroup/sg-1AB2C3De4",
                        "--tags", "a=b,c=d"],
        "export": ["export-stream-session-files", "--identifier", "sg-1AB2C3De4",
                   "--stream-session-identifier", "ABC123def4567", "--output-uri", "s3://b/x.zip"],
        "list-by-account": ["list-stream-sessions-by-account", "--status", "ACTIVE",
                            "--export-files-status", "SUCCEEDED", "--query", "length(Items)"],
    }
    files = {
        "input-file": '{"Identifier": "sg-1AB2C3De4", "StreamSessionIdentifier": "ABC123def4567"}',
        "input-yaml": "Identifier: sg-1AB2C3De4\nStreamSessionIdentifier: ABC123def4567\n",
    }
    for name, argv in lines.items():
        data = "\n".join(argv).encode()
        if name in files:
            data += b"\0" + files[name].encode()
        put("cli", name, data)


# ---------------------------------------------------------------- dictionaries
def write_dict(name, tokens):
    d = os.path.join(ROOT, "fuzz", "dict")
    os.makedirs(d, exist_ok=True)
    seen, lines = set(), ["# fuzz/dict/%s.dict - written by fuzz/seeds.py" % name]
    for t in tokens:
        if t in seen or not t:
            continue
        seen.add(t)
        esc = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "\\x%02x" % ord(c)
                      for c in t) if all(ord(c) < 256 for c in t) else None
        if esc is not None:
            lines.append('"%s"' % esc)
    with open(os.path.join(d, name + ".dict"), "w") as f:
        f.write("\n".join(lines) + "\n")


def model_strings():
    import re
    text = open(os.path.join(ROOT, "src", "model.c")).read()
    members = re.findall(r'^  \{"(\w+)", "([\w-]+)", \d+, GLS_LOC_', text, re.M)
    enums = re.findall(r'^  "([A-Za-z0-9_.-]+)",$', text.split("gls_enum_values[] = {")[1].split("};")[0], re.M)
    ops = re.findall(r'^  \{"(\w+)", "(\w+)", "(\w+)", "([^"]+)"', text, re.M)
    return members, enums, ops


@target
def dicts():
    members, enums, ops = model_strings()
    model_tokens = [m[0] for m in members] + [m[1] for m in members] + enums
    model_tokens += ["arn:aws:gameliftstreams:us-west-2:123456789012:streamgroup/", "sg-1AB2C3De4",
                     "a-9ZY8X7Wv6", "arn:aws:gameliftstreams:", ":streamsession/", ":application/",
                     "arn:aws:iam::123456789012:role/", "s3://", "us-west-2", "ClientToken"]
    paths = [o[3] for o in ops]
    write_dict("sigv4", ["%2F", "%3A", "%20", "%25", "/./", "/../", "//", "=", "&", "+", "%",
                         "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Signature", "x-amz-content-sha256",
                         "Authorization", "Host", "Content-Type", "UNSIGNED-PAYLOAD", " ", "\t", "\n",
                         "\xe1\x88\xb4"])
    write_dict("awsconfig", ["[profile ", "[default]", "[services ", "[sso-session ", "[DEFAULT]",
                             "region", "role_arn", "source_profile", "credential_source",
                             "credential_process", "web_identity_token_file", "aws_access_key_id",
                             "aws_secret_access_key", "aws_session_token", "services", "endpoint_url",
                             "Environment", "Ec2InstanceMetadata", "EcsContainer", " = ", "\n  ",
                             "\"", "'", "\\", "#", ";", "AWS_PROFILE=", "AWS_EC2_METADATA_DISABLED=true",
                             "AWS_CONTAINER_CREDENTIALS_FULL_URI=", "AWS_ROLE_ARN=",
                             "AWS_WEB_IDENTITY_TOKEN_FILE=", "AWS_ACCESS_KEY_ID=",
                             "AWS_SECRET_ACCESS_KEY=", "ec2_metadata_service_endpoint_mode", "IPv6"])
    write_dict("creds", ["\"Version\"", "\"AccessKeyId\"", "\"SecretAccessKey\"", "\"SessionToken\"",
                         "\"Token\"", "\"Expiration\"", "\"AccountId\"", "\"Code\"", "\"Success\"",
                         "\"Message\"", "2026-12-02T15:00:00Z", "+01:00", ".123", "<Credentials>",
                         "</Credentials>", "<AccessKeyId>", "<SecretAccessKey>", "<SessionToken>",
                         "<Expiration>", "<Arn>", "<ErrorResponse>", "<Error>", "<Code>", "<Message>",
                         "<RequestId>", "AssumeRoleResult", "<!DOCTYPE", "&amp;", "xmlns:a="])
    write_dict("reply", ["x-amzn-RequestId: ", "X-Amzn-ErrorType: ", "Date: ", "x-amz-request-id: ",
                         ":http://internal.amazon.com/coral/com.amazonaws.gameliftstreams/",
                         "com.amazonaws.gameliftstreams#", "\"__type\"", "\"code\"", "\"Code\"",
                         "\"message\"", "\"Message\"", "\"errorMessage\"", "ThrottlingException",
                         "ValidationException", "2026-12-02T15:00:00.5Z"] + model_tokens)
    write_dict("prepare", model_tokens + ["\\u0000", "\\ud83d\\ude00", "null", "[]", "{}"])
    write_dict("emuwire", model_tokens + paths + ["%2F", "%3A", "%00", "Authorization",
                                                  "AWS4-HMAC-SHA256", "Credential=", "SignedHeaders=",
                                                  "Signature=", "X-Amz-Date", "X-Amz-Algorithm=",
                                                  "X-Amz-Credential=", "X-Amz-Expires=", "MaxResults=",
                                                  "NextToken=", "Status="])
    write_dict("emulator", model_tokens + paths + ["/_emulator/", "faults", "clock", "quotas", "delays",
                                                   "sessions", "requests", "reset", "connect",
                                                   "disconnect", "\"advance\"", "\"operation\"",
                                                   "\"latency_ms\"", "\"drop\"", "\"truncate\"",
                                                   "\"malformed\"", "\"count\""])
    write_dict("serve", ["/v1/sessions", "/answer", "/reconnect", "?wait=", "/api/CreateStreamSession",
                         "/api/GetSignalResponse", "/api/ReconnectStreamSession", "/api/DestroyStreamSession",
                         "/healthz", "/metrics", "\"SignalRequest\"", "\"Token\"", "\"Identifier\"",
                         "\"ApplicationIdentifier\"", "\"StreamGroupId\"", "\"AppIdentifier\"",
                         "\"SGIdentifier\"", "\"UserId\"", "\"ConnectionTimeoutSeconds\"", "null",
                         "X-Gls-Client-Id: ", "Content-Type: application/json", "POST ", "GET ", "DELETE "])
    write_dict("jmespath", ["@", "&", "||", "&&", "!", "==", "!=", "<=", ">=", "[?", "[*]", "[]", ".*",
                            "| ", "`", "'", "\\\"", "{a: b}", "[0:2:-1]", "abs(", "avg(", "ceil(",
                            "contains(", "ends_with(", "floor(", "join(", "keys(", "length(", "map(",
                            "max(", "max_by(", "merge(", "min(", "min_by(", "not_null(", "reverse(",
                            "sort(", "sort_by(", "starts_with(", "sum(", "to_array(", "to_string(",
                            "to_number(", "type(", "values(", "\\u00e9", "1e400", "-0", "null",
                            "true", "false"])
    clitok = ["--query", "--output", "json", "text", "table", "yaml", "yaml-stream", "--region",
              "--endpoint-url", "--profile", "--debug", "--no-paginate", "--max-items", "--page-size",
              "--starting-token", "--cli-input-json", "--cli-input-yaml", "--generate-cli-skeleton",
              "input", "output", "yaml-input", "file:///fuzz/data", "fileb:///fuzz/data", "help", "wait",
              "--cli-binary-format", "raw-in-base64-out", "--no-sign-request", "--color",
              "--cli-read-timeout", "={", "}", "[", "]", ",", "=", "Key=", "Value="]
    import re
    cm = open(os.path.join(ROOT, "lua", "gameliftstreams", "climodel.lua")).read()
    clitok += re.findall(r'cli = "([a-z-]+)"', cm)
    clitok += ["--" + m for m in re.findall(r'\["?([a-z][a-z0-9-]+)"?\] = \{\s*name = "\w+",\s*member', cm)]
    clitok += ["--" + re.sub(r"(?<!^)(?=[A-Z])", "-", m[0]).lower() for m in members]
    write_dict("cli", clitok + enums)


if __name__ == "__main__":
    for fn in TARGETS:
        if not sys.argv[1:] or fn.__name__ in sys.argv[1:]:
            fn()
